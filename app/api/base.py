"""Base REST API: UUID routes, one transaction per call, domain errors mapped to HTTP in one place."""
from __future__ import annotations

from typing import Any

from flask import request
from flask_appbuilder.api import ModelRestApi, expose, merge_response_func, rison, safe
from flask_appbuilder.api.schemas import get_item_schema
from flask_appbuilder.const import (API_DESCRIPTION_COLUMNS_RIS_KEY, API_LABEL_COLUMNS_RIS_KEY,
                                    API_SHOW_COLUMNS_RIS_KEY, API_SHOW_TITLE_RIS_KEY)
from flask_appbuilder.security.decorators import permission_name, protect
from marshmallow import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import raiseload
from werkzeug.exceptions import BadRequest

from app import errors
from app.domain.errors import N_, ConflictError, DomainError, MissingActor, NotFoundError, PermissionDenied, RuleViolation
from app.extensions import db
from app.queries.audit import EVENTS_PAGE, record_events
from app.schemas import AuditEventListSchema, AuditEventSchema, OffsetDateTime
from app.services import records
from app.web import change_request, translate

API_PERMISSIONS = {"get_list": "read", "get": "read", "info": "read", "related": "read", "distinct": "read",
                   "events": "read", "post": "write", "put": "write", "delete": "delete"}
MAX_PAGE_SIZE = 100


def comma_list(name: str) -> list[str]:
    """A plain query filter given as a comma list, possibly repeated (?stage=a,b&stage=c)."""
    values = []
    for raw in request.args.getlist(name):
        values += [v.strip() for v in raw.split(",") if v.strip()]
    return values


def whole_number(name: str, default: int, low: int, high: int | None = None) -> int:
    """A bounded whole-number query parameter, or a field error on it (answered as 400)."""
    raw = request.args.get(name)
    try:
        value = default if raw is None else int(raw)
    except ValueError:
        raise RuleViolation({name: [N_("Must be a whole number.")]}) from None
    if value < low or (high is not None and value > high):
        raise RuleViolation({name: [N_("Out of range.")]})
    return value


def paging(default_size: int, page_arg: str = "page", size_arg: str = "page_size") -> tuple[int, int]:
    """(page from 0, page size from 1 to MAX_PAGE_SIZE) from the query string."""
    return whole_number(page_arg, 0, 0), whole_number(size_arg, default_size, 1, MAX_PAGE_SIZE)


MALFORMED = ("Unknown field.", "Not a valid datetime.", OffsetDateTime.default_error_messages["invalid_awareness"])
STATUS_OF = ((ConflictError, 409), (NotFoundError, 404), (PermissionDenied, 403), (MissingActor, 401))


class TranslatedRefusals:
    """FAB's own 403 ("Forbidden", a missing permission) and 404 ("Not found") in the request's
    language with the app's wording (app/errors.py), as `{"message": …}` like every other answer."""

    def response_403(self):
        return self.response(403, message=errors.message(403))

    def response_404(self):
        return self.response(404, message=errors.message(404))


class CrmModelApi(TranslatedRefusals, ModelRestApi):
    """ModelRestApi with UUID keys and 4xx (never 500, never SQL) for client errors."""

    allow_browser_login = True  # the board calls the API with the session cookie + X-CSRFToken
    csrf_exempt = False
    page_size = 25
    method_permission_name = API_PERMISSIONS
    base_permissions = ["can_read", "can_write", "can_delete"]

    def domain_error(self, exc: DomainError):
        """The HTTP answer for a domain refusal: 422 unless the error says otherwise."""
        status = next((code for cls, code in STATUS_OF if isinstance(exc, cls)), 422)
        body: dict[str, Any] = {"message": translate(exc.messages)}
        if getattr(exc, "existing_id", None):
            body["id"] = body["existing_id"] = str(exc.existing_id)
        return self.response(status, **body)

    def json_body(self) -> dict:
        """The request body as a JSON object, or BadRequest (400)."""
        if not request.is_json:
            raise BadRequest("Request is not JSON")
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise BadRequest("Request body must be a JSON object")
        return body

    def schema_error(self, err: ValidationError):
        """Unknown fields and unreadable date-times (a time without its offset) are a malformed
        request (400); invalid values are 422."""
        messages = err.messages if isinstance(err.messages, dict) else {"_schema": err.messages}
        if any(set(MALFORMED) & set(m if isinstance(m, list) else [m]) for m in messages.values()):
            return self.response(400, message=messages)
        return self.response(422, message=messages)

    def bad_request(self, exc: RuleViolation):
        """400 with the field messages of a malformed query parameter."""
        return self.response(400, message=translate(exc.messages))

    def plain_list(self, query, order, dump):
        """One page of `query` (a SELECT of the model, already filtered) with its total count."""
        try:
            page, size = paging(self.page_size)
        except RuleViolation as exc:
            return self.bad_request(exc)
        count = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
        rows = list(db.session.scalars(query.options(raiseload("*")).order_by(*order)
                                       .offset(page * size).limit(size)))
        return self.response(200, count=count, ids=[str(r.id) for r in rows], page=page, page_size=size,
                             result=dump(rows))

    def write(self, verb, *args):
        """Call a verb (it owns the transaction); a domain refusal becomes its HTTP answer."""
        try:
            return verb(*args), None
        except DomainError as exc:
            return None, self.domain_error(exc)

    def evidence_of(self, body: dict) -> list:
        """The `evidence_refs` a client sent with a record (checked by the audit; not a column)."""
        return body.pop("evidence_refs", None) or []

    def post_headless(self):
        body = self.json_body()
        request = change_request(evidence_refs=self.evidence_of(body))  # the actor before any autoflush
        try:
            item = self.add_model_schema.load(body)
        except ValidationError as err:
            return self.schema_error(err)
        self.pre_add(item)
        item, error = self.write(records.save_record, request, item)
        if error:
            return error
        self.post_add(item)
        return self.response(201, id=str(item.id), result=self.add_model_schema.dump(item, many=False))

    def put_headless(self, pk):
        item = self.datamodel.get(pk, self._base_filters)
        if not item:
            return self.response_404()
        body = self.json_body()
        request = change_request(evidence_refs=self.evidence_of(body))  # the actor before any autoflush
        try:
            with self.datamodel.session.no_autoflush:
                item = self.edit_model_schema.load(body, instance=item, partial=True)
        except ValidationError as err:
            self.datamodel.session.rollback()
            return self.schema_error(err)
        self.pre_update(item)
        item, error = self.write(records.save_record, request, item)
        if error:
            return error
        self.post_update(item)
        return self.response(200, id=str(item.id), result=self.edit_model_schema.dump(item, many=False))

    def delete_headless(self, pk):
        item = self.datamodel.get(pk, self._base_filters)
        if not item:
            return self.response_404()
        self.pre_delete(item)
        _, error = self.write(records.delete_record, change_request(), item)
        if error:
            return error
        self.post_delete(item)
        return self.response(200, message="OK")

    @expose("/<uuid:pk>", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    @rison(get_item_schema)
    @merge_response_func(ModelRestApi.merge_show_label_columns, API_LABEL_COLUMNS_RIS_KEY)
    @merge_response_func(ModelRestApi.merge_show_columns, API_SHOW_COLUMNS_RIS_KEY)
    @merge_response_func(ModelRestApi.merge_description_columns, API_DESCRIPTION_COLUMNS_RIS_KEY)
    @merge_response_func(ModelRestApi.merge_show_title, API_SHOW_TITLE_RIS_KEY)
    def get(self, pk, **kwargs):
        """Get one item by its UUID."""
        return self.get_headless(pk, **kwargs)

    @expose("/<uuid:pk>", methods=["PUT"])
    @protect()
    @safe
    @permission_name("put")
    def put(self, pk):
        """Update one item by its UUID."""
        return self.put_headless(pk)

    @expose("/<uuid:pk>", methods=["DELETE"])
    @protect()
    @safe
    @permission_name("delete")
    def delete(self, pk):
        """Delete one item by its UUID."""
        return self.delete_headless(pk)


class AuditedRecordApi(CrmModelApi):
    """A record API with its audit trail at GET /<id>/events (newest first, paged)."""

    audit_entity = ""
    whole_account = False
    openapi_spec_component_schemas = (AuditEventListSchema,)  # an account's trail includes its contacts', projects' and offers'

    @expose("/<uuid:pk>/events", methods=["GET"])
    @protect()
    @safe
    @permission_name("read")
    def events(self, pk):
        """The record's audit trail: who created, changed or deleted what, newest first.
        ---
        get:
          parameters:
          - {in: path, name: pk, schema: {type: string, format: uuid}}
          - {in: query, name: page, schema: {type: integer, minimum: 0}}
          - {in: query, name: page_size, schema: {type: integer, minimum: 1, maximum: 100}}
          responses:
            200:
              description: audit events
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/AuditEventListSchema'}
            400: {description: bad paging}
            404: {description: no such record}
        """
        if self.datamodel.get(pk, self._base_filters) is None:
            return self.response_404()
        try:
            page, size = paging(EVENTS_PAGE)
        except RuleViolation as exc:
            return self.bad_request(exc)
        total, rows = record_events(self.audit_entity, pk, page, size, whole_account=self.whole_account)
        return self.response(200, count=total, page=page, page_size=size,
                             result=AuditEventSchema(many=True).dump(rows))
