"""A valid contract: the OpenAPI document validates as OpenAPI 3.0 and says what the API really
sends (UUID path ids, responses everywhere, `message` a text or an object, decimals as strings);
a bad or expired token is a JSON 401; every answer under /api is JSON; the API docs open for
every role, as README says."""
import re
from datetime import timedelta

import jwt as pyjwt
import pytest
from openapi_spec_validator import OpenAPIV30SpecValidator

from tests.conftest import ROLES, login

METHODS = ("get", "put", "post", "delete", "patch")


@pytest.fixture()
def document(client, api):
    response = client.get("/api/v1/_openapi", headers=api("Admin"))
    assert response.status_code == 200
    return response.get_json()


def operations(document):
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method], item.get("parameters", [])


def test_the_document_validates_as_openapi_3_0(document):
    assert document["openapi"].startswith("3.0")
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in OpenAPIV30SpecValidator(document).iter_errors()]
    assert errors == []


def test_every_path_parameter_is_declared_and_every_operation_has_responses(document):
    missing = []
    for path, method, operation, shared in operations(document):
        declared = {p["name"]: p for p in operation.get("parameters", []) + shared if p.get("in") == "path"}
        for name in re.findall(r"{(\w+)}", path):
            parameter = declared.get(name)
            if parameter is None or not parameter.get("required"):
                missing.append(f"{method.upper()} {path}: path parameter {name}")
            elif name == "pk" and parameter["schema"] != {"type": "string", "format": "uuid"}:
                missing.append(f"{method.upper()} {path}: pk is not documented as a UUID")
        if not operation.get("responses"):
            missing.append(f"{method.upper()} {path}: no responses")
    assert missing == []
    assert sum(1 for _ in operations(document)) >= 43


def test_every_refusal_is_documented_with_the_error_shape(document):
    error = document["components"]["schemas"]["ErrorSchema"]
    assert error["required"] == ["message"]
    assert {s["type"] for s in error["properties"]["message"]["oneOf"]} == {"string", "object"}
    for code, answer in document["components"]["responses"].items():
        assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorSchema"}, code
    for path, method, operation, _ in operations(document):
        for code, answer in operation["responses"].items():
            if str(code)[0] in "45":
                assert "$ref" in answer or "content" in answer, f"{method.upper()} {path} {code}"
        if operation.get("security"):
            assert {"401", "403"} <= set(map(str, operation["responses"])), f"{method.upper()} {path}"


def test_decimals_are_documented_and_sent_as_strings(app, client, api, clean_db, document):
    schemas = document["components"]["schemas"]
    for name, field in (("OpportunityOut", "amount_estimate"), ("OpportunityOut", "probability"),
                        ("OpportunityPatchSchema", "discount_percent"), ("AcceptSchema", "amount_estimate"),
                        ("OpportunityApi.get", "amount_estimate"), ("OfferApi.get", "amount")):
        prop = schemas[name]["properties"][field]
        assert (prop["type"], prop["format"]) == ("string", "decimal"), (name, field, prop)
        assert "minimum" not in prop and "maximum" not in prop
    h = api("Admin")
    account = client.post("/api/v1/accounts/", json={"name": "Decimal Ltd"}, headers=h).get_json()["id"]
    created = client.post("/api/v1/opportunities/", json={"account_id": account, "name": "Site",
                                                          "amount_estimate": 150000}, headers=h)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["result"]["amount_estimate"] == "150000.00"
    assert isinstance(created.get_json()["result"]["probability"], str)
    shown = client.get(f"/api/v1/opportunities/{created.get_json()['id']}", headers=h).get_json()["result"]
    assert isinstance(shown["amount_estimate"], str)


def test_error_messages_are_a_text_or_an_object_as_documented(client, api, clean_db):
    h = api("Admin")
    refused = client.post("/api/v1/opportunities/", json={"name": "No account"}, headers=h)
    assert refused.status_code in (400, 422) and isinstance(refused.get_json()["message"], dict)
    missing = client.get("/api/v1/accounts/00000000-0000-0000-0000-000000000000", headers=h)
    assert missing.status_code == 404 and isinstance(missing.get_json()["message"], str)


def _expired_token(app, user_id: int) -> str:
    from flask_jwt_extended import create_access_token

    with app.app_context():
        return create_access_token(identity=str(user_id), fresh=True, expires_delta=timedelta(seconds=-60))


@pytest.mark.parametrize("kind", ["garbage", "three parts", "wrong key", "expired", "empty"])
@pytest.mark.parametrize("url", ["/api/v1/accounts/", "/api/v1/opportunities/?status=open", "/api/v1/_openapi"])
def test_a_bad_or_expired_token_is_a_json_401(app, client, users, kind, url):
    token = {
        "garbage": lambda: "garbage",
        "three parts": lambda: "a.b.c",
        "wrong key": lambda: pyjwt.encode({"sub": str(users["Admin"]), "type": "access", "fresh": True},
                                          "not-the-key-of-this-app-but-long-enough", algorithm="HS256"),
        "expired": lambda: _expired_token(app, users["Admin"]),
        "empty": lambda: "",
    }[kind]()
    response = client.get(url, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.is_json and isinstance(response.get_json()["message"], str)


@pytest.mark.parametrize("method, url, status", [
    ("get", "/api/v1/accounts/1", 404),
    ("put", "/api/v1/accounts/not-a-uuid", 404),
    ("delete", "/api/v1/contacts/1", 404),
    ("patch", "/api/v1/opportunities/abc", 404),
    ("get", "/api/v1/opportunities/abc/events", 404),
    ("post", "/api/v1/inbound_threads/1/assign", 404),
    ("get", "/api/v1/no_such_resource/", 404),
    ("patch", "/api/v1/accounts/00000000-0000-0000-0000-000000000000", 405),
    ("delete", "/api/v1/opportunities/00000000-0000-0000-0000-000000000000", 405),
])
def test_every_answer_under_api_is_json(client, api, method, url, status):
    response = getattr(client, method)(url, headers=api("Admin"), json={})
    assert response.status_code == status
    assert response.is_json and isinstance(response.get_json()["message"], str)


@pytest.mark.parametrize("role", ROLES)
def test_every_role_opens_the_api_docs(client, api, role):
    assert client.get("/api/v1/_openapi", headers=api(role)).status_code == 200
    login(client, role)
    page = client.get("/swagger/v1")
    assert page.status_code == 200
    assert "/api/v1/_openapi" in page.get_data(as_text=True)
    assert client.get("/api/v1/_openapi").status_code == 200  # what the page loads, with the session cookie
