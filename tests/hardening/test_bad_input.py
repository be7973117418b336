"""Never a 500 on client input (issue 16): the bad-input matrix over the API and the pages. Each case
answers 4xx (or an ordinary 2xx/3xx for a query that merely finds nothing), never 5xx, with field
messages where the API refuses a value — and writes nothing: the row counts of every CRM table are
the same after it."""
import pytest

from tests.hardening.world import NOTE, pages, row_counts, tokens, world  # noqa: F401  (fixtures)

NUL, SURROGATE = "a\u0000b", "\ud800"
BAD_TEXT = "Contains a character that is not allowed (NUL or a broken Unicode character)."
OUT = "Out of range."

# (id, method, path, JSON body, expected status, the field its message names or None)
API_CASES = [
    ("account name NUL", "post", "/api/v1/accounts/", {"name": NUL}, 422, "name"),
    ("account name surrogate", "post", "/api/v1/accounts/", {"name": SURROGATE}, 422, "name"),
    ("account icp huge", "post", "/api/v1/accounts/", {"name": "x", "icp_fit_score": 10000000000}, 422, "icp_fit_score"),
    ("account owner me", "post", "/api/v1/accounts/", {"name": "x", "owner_user_id": "me"}, 422, "owner_user_id"),
    ("account owner huge", "post", "/api/v1/accounts/", {"name": "x", "owner_user_id": 99999999999}, 422,
     "owner_user_id"),
    ("account NUL key", "post", "/api/v1/accounts/", {"name": "x", "na\u0000me": "y"}, 422, "_schema"),
    ("account edit icp huge", "put", "/api/v1/accounts/{account}", {"icp_fit_score": 10000000000}, 422,
     "icp_fit_score"),
    ("account edit NUL", "put", "/api/v1/accounts/{account}", {"industry": NUL}, 422, "industry"),
    ("account edit not an object", "put", "/api/v1/accounts/{account}", [1, 2], 400, None),
    ("contact account id 1", "post", "/api/v1/contacts/", {"name": "x", "account_id": "1"}, 422, "account_id"),
    ("contact influence huge", "post", "/api/v1/contacts/", {"name": "x", "account_id": "{account}",
                                                             "influence_score": 1e10}, 422, "influence_score"),
    ("contact tags not a list", "post", "/api/v1/contacts/", {"name": "x", "account_id": "{account}",
                                                              "role_tags": "abc"}, 422, "role_tags"),
    ("contact tag NUL", "post", "/api/v1/contacts/", {"name": "x", "account_id": "{account}", "role_tags": [NUL]},
     422, "role_tags"),
    ("project account id 1", "post", "/api/v1/projects/", {"name": "x", "account_id": "1"}, 422, "account_id"),
    ("project year 1", "post", "/api/v1/projects/", {"name": "x", "account_id": "{account}",
                                                     "start_date": "0001-01-01"}, 422, "start_date"),
    ("project pm huge", "post", "/api/v1/projects/", {"name": "x", "account_id": "{account}",
                                                      "pm_user_id": 99999999999}, 422, "pm_user_id"),
    ("member project id 1", "post", "/api/v1/project_members/", {"project_id": "1", "user_id": 1}, 422,
     "project_id"),
    ("offer deal id 1", "post", "/api/v1/offers/", {"title": "x", "opportunity_id": "1"}, 422, "opportunity_id"),
    ("offer amount 1e20", "post", "/api/v1/offers/", {"title": "x", "opportunity_id": "{opp}", "amount": "1e20"},
     422, "amount"),
    ("offer amount 13 digits", "post", "/api/v1/offers/", {"title": "x", "opportunity_id": "{opp}",
                                                           "amount": "9999999999999.99"}, 422, "amount"),
    ("offer edit amount", "put", "/api/v1/offers/{offer}", {"amount": "1e20"}, 422, "amount"),
    ("deal amount 1e20", "post", "/api/v1/opportunities/", {"name": "x", "account_id": "{account}",
                                                            "amount_estimate": "1e20"}, 422, "amount_estimate"),
    ("deal amount 13 digits", "post", "/api/v1/opportunities/", {"name": "x", "account_id": "{account}",
                                                                 "amount_estimate": "9999999999999.99"}, 422,
     "amount_estimate"),
    ("deal owner id huge", "post", "/api/v1/opportunities/", {"name": "x", "account_id": "{account}",
                                                              "owner_user_id": 99999999999}, 422, "owner_user_id"),
    ("deal owner NUL", "post", "/api/v1/opportunities/", {"name": "x", "account_id": "{account}", "owner": NUL},
     422, "owner"),
    ("deal evidence NUL", "post", "/api/v1/opportunities/", {"name": "x", "account_id": "{account}",
                                                             "evidence_refs": [{"type": "note", "text": NUL}]}, 422,
     "evidence_refs"),
    ("deal evidence null item", "post", "/api/v1/opportunities/", {"name": "", "account_id": "{account}",
                                                                    "evidence_refs": [{}, None]}, 422, "evidence_refs"),
    ("patch evidence null item", "patch", "/api/v1/opportunities/{opp}", {"probability": 5, "evidence_refs": [None]},
     422, "evidence_refs"),
    ("deal due year 1", "post", "/api/v1/opportunities/", {"name": "x", "account_id": "{account}",
                                                           "next_step_due_at": "0001-01-01T00:00:00+14:00"}, 422,
     "next_step_due_at"),
    ("deal close year 1", "post", "/api/v1/opportunities/", {"name": "x", "account_id": "{account}",
                                                             "close_date_target": "0001-01-01"}, 422,
     "close_date_target"),
    ("patch amount 1e20", "patch", "/api/v1/opportunities/{opp}", {"amount_estimate": "1e20", "evidence_refs": NOTE},
     422, "amount_estimate"),
    ("patch next step NUL", "patch", "/api/v1/opportunities/{opp}", {"next_step_text": NUL}, 422, "next_step_text"),
    ("patch surrogate", "patch", "/api/v1/opportunities/{opp}", {"name": SURROGATE}, 422, "name"),
    ("patch version huge", "patch", "/api/v1/opportunities/{opp}", {"version": 99999999999}, 422, "version"),
    ("put probability 1e400", "put", "/api/v1/opportunities/{opp}", {"probability": "1e400"}, 422, "probability"),
    ("note NUL", "post", "/api/v1/opportunities/{opp}/notes", {"text": NUL}, 422, "text"),
    ("note surrogate", "post", "/api/v1/opportunities/{opp}/notes", {"text": "\udfff"}, 422, "text"),
    ("accept amount 1e20", "post", "/api/v1/opportunities/{opp}/accept", {"name": "x", "amount_estimate": "1e20"},
     422, "amount_estimate"),
    ("triage create NUL", "post", "/api/v1/inbound_threads/{thread}/create_account", {"account_name": NUL}, 422,
     "account_name"),
    ("triage assign id 1", "post", "/api/v1/inbound_threads/{thread}/assign", {"account_id": "1"}, 422,
     "account_id"),
    ("login NUL", "post", "/api/v1/security/login", {"username": NUL, "password": "x", "provider": "db"}, 400,
     None),
    ("login surrogate", "post", "/api/v1/security/login", {"username": SURROGATE, "password": "x",
                                                          "provider": "db"}, 400, None),
]

GET_CASES = [
    ("/api/v1/accounts/?q=(page:-1)", 400),
    ("/api/v1/accounts/?q=(page:99999999999999999999,page_size:10)", 400),
    ("/api/v1/accounts/?q=((((", 400),
    ("/api/v1/accounts/?q=(page:", 400),
    ("/api/v1/accounts/?q=%00", 400),
    ("/api/v1/accounts/?q=(filters:!((col:name,opr:ct,value:'a%00')))", 400),
    ('/api/v1/accounts/?q={"filters":[{"col":"name","opr":"ct","value":"\\ud800"}]}', 400),
    ("/api/v1/accounts/?q=(filters:!((col:owner_user_id,opr:eq,value:me)))", None),
    ("/api/v1/contacts/?q=(filters:!((col:account_id,opr:eq,value:'1')))", None),
    ("/api/v1/opportunities/?page=99999999999999999999", 400),
    ("/api/v1/opportunities/?page=-1", 400),
    ("/api/v1/opportunities/?page_size=100000", 400),
    ("/api/v1/opportunities/?owner=99999999999999999999", None),
    ("/api/v1/opportunities/?owner=%00", 400),
    ("/api/v1/opportunities/?account_id=1", 400),
    ("/api/v1/inbound_threads/?page=99999999999999999999", 400),
    ("/api/v1/inbound_threads/{thread}?messages_page=99999999999999999999", 400),
    ("/api/v1/accounts/{account}/events?page=99999999999999999999", 400),
    ("/api/v1/metrics/pipeline?from=0001-01-01", None),
    ("/api/v1/metrics/aging?from=0001-01-01", None),
    ("/api/v1/metrics/sla?from=0001-01-01", None),
    ("/api/v1/metrics/win-rate?from=9999-12-31&to=9999-12-31", None),
    ("/api/v1/metrics/pipeline?owner=99999999999999999999", None),
    ("/api/v1/accounts/1", 404),
]

PAGE_GETS = [
    ("/accounts/?q=%00", 400), ("/accounts/?page=99999999999999999999", 200), ("/accounts/?owner=99999999999999999999", 200),
    ("/board/?q=%00", 400), ("/board/?owner=99999999999999999999", 200),
    ("/board/column/lead?offset=99999999999999999999", 200), ("/board/column/lead?offset=-3", 200),
    ("/lookup/accounts/?q=%00", 400), ("/lookup/opportunities/?q=%00", 400), ("/lookup/projects/?q=%00", 400),
    ("/accountview/list/?psize_AccountView=-1", 400), ("/accountview/list/?page_AccountView=99999999999999999999", 400),
    ("/accountview/list/?page_AccountView=abc", 400), ("/accountview/list/?_flt_0_name=%00", 400),
    ("/accountview/list/?_flt_0_icp_fit_score=99999999999", 200), ("/opportunityview/list/?_flt_0_amount_estimate=1e20", 200),
    ("/triage/?page=99999999999999999999", 200), ("/triage/?page=-5", 200), ("/triage/accounts?q=%00", 400),
    ("/dashboard/?from=0001-01-01", 200), ("/dashboard/?to=9999-12-31", 200),
    ("/stall/?from=0001-01-01", 200), ("/stall/csv?from=0001-01-01", 200),
    ("/accounts/{account}?timeline_page=99999999999999999999", 200),
    ("/projects/{project}?timeline_page=99999999999999999999", 200),
]

PAGE_POSTS = [
    ("/accounts/{account}/notes", {"text": NUL, "opportunity_id": "{opp}"}),
    ("/accounts/{account}/notes", {"text": "fine", "opportunity_id": "1"}),
    ("/accounts/{account}/contacts", {"name": NUL}),
    ("/accounts/{account}/opportunities", {"name": NUL, "amount_estimate": "100"}),
    ("/accounts/{account}/opportunities", {"name": "x", "amount_estimate": "1e20"}),
    ("/opportunities/{opp}/notes", {"text": NUL}),
    ("/projects/{project}/notes", {"text": NUL}),
    ("/projects/{project}/members", {"user_id": "99999999999"}),
    ("/board/accept/{opp}", {"name": "x", "amount_estimate": "1e20"}),
    ("/triage/{thread}/create_account", {"account_name": NUL}),
    ("/accountview/add", {"name": NUL, "segment": "smb", "status": "active"}),
    ("/accountview/add", {"name": "x", "segment": "smb", "status": "active", "icp_fit_score": "10000000000"}),
    ("/offerview/add", {"title": "x", "opportunity": "{opp}", "amount": "1e20", "currency": "RUB", "status": "draft"}),
]


def _fill(value, world):
    if isinstance(value, str):
        return value.format(**world) if "{" in value and "}" in value and '"' not in value else value
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, world) for v in value]
    return value


@pytest.mark.parametrize("case", API_CASES, ids=[c[0] for c in API_CASES])
def test_api_refuses_bad_values_with_field_messages_and_writes_nothing(app, world, tokens, case):
    _, method, path, body, status, field = case
    client = app.test_client()
    before = row_counts(app)
    headers = {} if "security/login" in path else tokens("Admin")
    response = getattr(client, method)(_fill(path, world), json=_fill(body, world), headers=headers)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    message = response.get_json()["message"]
    if field is not None:
        assert isinstance(message, dict) and field in message, message
    assert row_counts(app) == before


def test_the_messages_say_why(app, world, tokens):
    client, h = app.test_client(), tokens("Admin")
    nul = client.post("/api/v1/accounts/", json={"name": NUL}, headers=h).get_json()["message"]
    assert nul == {"name": [BAD_TEXT]}
    amount = client.post("/api/v1/opportunities/", json={"name": "x", "account_id": world["account"],
                                                         "amount_estimate": "1e20"}, headers=h).get_json()["message"]
    assert amount == {"amount_estimate": [OUT]}
    icp = client.post("/api/v1/accounts/", json={"name": "x", "icp_fit_score": 10000000000}, headers=h)
    assert icp.get_json()["message"] == {"icp_fit_score": ["Must be between 0 and 100."]}
    uuid = client.post("/api/v1/contacts/", json={"name": "x", "account_id": "1"}, headers=h)
    assert uuid.get_json()["message"] == {"account_id": ["Not a valid UUID."]}


@pytest.mark.parametrize("path,status", GET_CASES, ids=[c[0] for c in GET_CASES])
def test_api_queries_with_bad_parameters_are_4xx(app, world, tokens, path, status):
    response = app.test_client().get(_fill(path, world), headers=tokens("Admin"))
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if status is not None:
        assert response.status_code == status, response.get_data(as_text=True)[:500]
    if response.status_code == 400:
        assert isinstance(response.get_json()["message"], (dict, str))


def test_json_nested_50000_deep_is_400_before_and_after_login(app, world, tokens):
    deep = "[" * 50000 + "]" * 50000
    client = app.test_client()
    for path, headers in (("/api/v1/accounts/", tokens("Admin")), ("/api/v1/security/login", {})):
        response = client.post(path, data=deep, content_type="application/json", headers=headers)
        assert response.status_code == 400, response.get_data(as_text=True)[:300]
        assert response.get_json()["message"] == {"_schema": ["Nested too deeply."]}
    nested: object = 1
    for _ in range(40):  # deeper than MAX_JSON_DEPTH (32), far below Python's limit
        nested = [nested]
    nested = {"name": "x", "industry": {"a": nested}}
    response = client.post("/api/v1/accounts/", json=nested, headers=tokens("Admin"))
    assert response.status_code == 400 and response.get_json()["message"] == {"_schema": ["Nested too deeply."]}


@pytest.mark.parametrize("path,status", PAGE_GETS, ids=[c[0] for c in PAGE_GETS])
def test_pages_with_bad_parameters_answer_inside_the_app(app, world, pages, path, status):
    before = row_counts(app)
    response = pages.get(_fill(path, world))
    body = response.get_data(as_text=True)
    assert response.status_code == status, body[:500]
    if status == 400:
        assert "crm-error-page" in body and "Traceback" not in body
    assert row_counts(app) == before


@pytest.mark.parametrize("path,form", PAGE_POSTS, ids=[f"{p} {sorted(f)}" for p, f in PAGE_POSTS])
def test_page_forms_with_bad_values_write_nothing(app, world, pages, path, form):
    before = row_counts(app)
    response = pages.post(_fill(path, world), data=_fill(form, world))
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    assert row_counts(app) == before


@pytest.mark.smoke
def test_a_nul_in_the_query_string_is_a_400_with_its_field(client, api):
    response = client.get("/api/v1/opportunities/?stage=lead%00", headers=api("Sales"))
    assert response.status_code == 400
    assert response.get_json()["message"] == {"stage": [BAD_TEXT]}


@pytest.mark.smoke
def test_unreadable_rison_is_a_400_not_a_500(client, api):
    for q in ("((((", "(page:"):
        response = client.get(f"/api/v1/accounts/?q={q}", headers=api("Sales"))
        assert response.status_code == 400 and response.get_json()["message"] == {"q": ["Not a valid rison argument."]}
