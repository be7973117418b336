"""The OpenAPI document (`GET /api/v1/_openapi`, Swagger UI at `/swagger/v1`) as the API really
answers: FAB's generator (its OpenApi view) with two hooks.

* Decimals (amounts, probabilities, discounts) are sent as JSON strings ("150000.00"): every
  marshmallow Decimal field is documented as `type: string, format: decimal` (a JSON number is
  accepted on input too).
* Every refusal is `{"message": …}` where the message is a text or `{field: [why, …]}`
  (`ErrorSchema`): FAB's shared responses (400, 401, …) and every 4xx/5xx an endpoint documents
  carry that schema; an endpoint that needs a login documents 401 and 403.

Each endpoint's own docstring declares its path parameters and responses (an `{pk}` is a UUID).
"""
from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.field_converter import DEFAULT_FIELD_MAPPING
from flask import current_app, request
from flask_appbuilder.api.manager import OpenApi, resolver
from marshmallow import fields

from app.schemas import ErrorSchema

DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
ERROR_REF = {"$ref": "#/components/schemas/ErrorSchema"}
# The shared answers an operation refers to as '#/components/responses/<code>'.
SHARED_RESPONSES = {
    "400": "Bad request: malformed JSON, an unknown field or a malformed parameter",
    "401": "Not signed in: the token is missing, invalid, expired or revoked",
    "403": "Not allowed: the role or the ownership does not permit it",
    "404": "Not found (or not in the caller's scope)",
    "405": "Method not allowed",
    "409": "Conflict: a stale version or a duplicate",
    "422": "Refused by a rule, per field",
    "500": "Server error",
}


def install(appbuilder) -> None:
    """Make FAB's OpenApi view build its document with these hooks."""
    for view in appbuilder.baseviews:
        if isinstance(view, OpenApi):
            view._create_api_spec = create_api_spec


def create_api_spec(version: str) -> APISpec:
    """FAB's OpenApi._create_api_spec with the CRM's plugin and finishing."""
    servers = current_app.config.get("FAB_OPENAPI_SERVERS", [{"url": request.host_url}])
    return CrmAPISpec(title=current_app.appbuilder.app_name, version=version, openapi_version="3.0.2",
                      info={"description": current_app.appbuilder.app_name},
                      plugins=[CrmMarshmallowPlugin(schema_name_resolver=resolver)], servers=servers)


class CrmMarshmallowPlugin(MarshmallowPlugin):
    """Decimal fields are strings on the wire (this converter only: apispec's mapping is shared)."""

    def init_spec(self, spec) -> None:
        super().init_spec(spec)
        self.converter.field_mapping = {**DEFAULT_FIELD_MAPPING, fields.Decimal: ("string", "decimal")}
        self.converter.add_attribute_function(_decimal_pattern)


def _decimal_pattern(self, field, ret, **kwargs) -> dict:
    if not isinstance(field, fields.Decimal):
        return {}
    extra = {"pattern": DECIMAL_PATTERN}
    if "description" not in ret:
        extra["description"] = "a decimal as a string, e.g. \"150000.00\" (a JSON number is accepted on input)"
    return extra


class CrmAPISpec(APISpec):
    """The document, finished as described in the module's docstring."""

    def to_dict(self) -> dict:
        if "ErrorSchema" not in self.components.schemas:
            self.components.schema("ErrorSchema", schema=ErrorSchema)
        document = super().to_dict()
        responses = document.setdefault("components", {}).setdefault("responses", {})
        for code, description in SHARED_RESPONSES.items():
            responses[code] = {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}
        for path, item in document.get("paths", {}).items():
            for method, operation in item.items():
                if method in ("get", "put", "post", "delete", "patch") and isinstance(operation, dict):
                    _finish(path, operation)
        return document


def _finish(path: str, operation: dict) -> None:
    answers = operation.get("responses")
    if not answers:
        return  # left invalid on purpose: tests/hardening/test_openapi.py names the endpoint
    if operation.get("security"):
        for code in ("401", "403"):
            answers.setdefault(code, {"$ref": f"#/components/responses/{code}"})
    if re.search(r"{\w+}", path):
        answers.setdefault("404", {"$ref": "#/components/responses/404"})
    for code, answer in answers.items():
        if str(code)[0] in "45" and "$ref" not in answer and "content" not in answer:
            answer["content"] = {"application/json": {"schema": ERROR_REF}}
