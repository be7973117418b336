"""Base REST API: UUID routes, one transaction per call, domain errors mapped to HTTP in one place."""
from __future__ import annotations

import sys
from typing import Any

from flask import request
from flask_appbuilder.api import ModelRestApi, expose, merge_response_func, rison, safe
from flask_appbuilder.api.convert import Model2SchemaConverter
from flask_appbuilder.api.schemas import get_item_schema
from flask_appbuilder.const import (API_DESCRIPTION_COLUMNS_RIS_KEY, API_LABEL_COLUMNS_RIS_KEY,
                                    API_SHOW_COLUMNS_RIS_KEY, API_SHOW_TITLE_RIS_KEY)
from flask_appbuilder.security.decorators import permission_name, protect
from marshmallow import ValidationError, fields, validate
from sqlalchemy import ARRAY, Date, DateTime, Float, Integer, Numeric, String, func, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import raiseload
from sqlalchemy_utils import UUIDType
from werkzeug.exceptions import BadRequest

from app import errors
from app.domain.errors import N_, ConflictError, DomainError, MissingActor, NotFoundError, PermissionDenied, RuleViolation
from app.domain.ranges import OUT_OF_RANGE, RANGES, column_limit, date_error
from app.domain.text import BAD_TEXT, json_errors, text_error
from app.extensions import db
from app.queries.audit import EVENTS_PAGE, record_events
from app.schemas import STORED_INT, AuditEventListSchema, AuditEventSchema, OffsetDateTime, in_range
from app.services import records
from app.web import change_request, translate

API_PERMISSIONS = {"get_list": "read", "get": "read", "info": "read", "related": "read", "distinct": "read",
                   "events": "read", "post": "write", "put": "write", "delete": "delete"}
MAX_PAGE_SIZE = 100
MAX_PAGE = errors.MAX_PAGE  # pages beyond hold nothing; larger numbers overflow OFFSET


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
    """(page from 0 to MAX_PAGE, page size from 1 to MAX_PAGE_SIZE) from the query string."""
    return whole_number(page_arg, 0, 0, MAX_PAGE), whole_number(size_arg, default_size, 1, MAX_PAGE_SIZE)


def _storable_text(value):
    if text_error(value):
        raise ValidationError(BAD_TEXT)


def _storable_date(value):
    if date_error(value):
        raise ValidationError(OUT_OF_RANGE)


def _list_of_texts(value):
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError("Not a valid list of texts.")
    if any(text_error(v) for v in value):
        raise ValidationError(BAD_TEXT)


class CrmSchemaConverter(Model2SchemaConverter):
    """FAB's generated schemas, refusing before the database what it would otherwise refuse with a
    500: ids that are not UUIDs or integers (FAB reads foreign keys as raw values), numbers beyond
    their rule (domain.ranges.RANGES) or their column, dates outside 1900–2999, text with NUL or a
    lone surrogate, tags that are not a list of texts."""

    def _column2field(self, datamodel, column, nested=True, parent_schema_name=None):
        field = super()._column2field(datamodel, column, nested, parent_schema_name)
        if field is None or field.dump_only or datamodel.is_relation(column.name):
            return field
        sqla_column = sa_inspect(datamodel.obj).columns.get(column.name)  # foreign keys too (FAB lists none)
        return typed_field(column.name, sqla_column, field) if sqla_column is not None else field

    def _meta_schema_factory(self, columns, model, class_mixin, parent_schema_name=None):
        # marshmallow-sqlalchemy drops fields of foreign-key columns inherited from a plain mixin
        # (include_fk=False): FAB's `account_id`, `owner_user_id`, … then load unchecked, as raw
        # values, and the database refuses "1" or "me" with a 500. Declared, they are kept.
        class_mixin._declared_fields = {name: value for name, value in vars(class_mixin).items()
                                        if isinstance(value, fields.Field)}
        return super()._meta_schema_factory(columns, model, class_mixin, parent_schema_name)


def typed_field(name: str, column, field):
    """`field` (of a generated schema) checked as its column's type needs."""
    kind, checks = column.type, []
    if name in RANGES:  # the rule and the column's limit, one message each
        checks = in_range(name)
    elif isinstance(kind, UUIDType):
        field = _replaced(field, fields.UUID)
    elif isinstance(kind, Integer):
        if not isinstance(field, fields.Integer):
            field = _replaced(field, fields.Integer)
        checks.append(STORED_INT)
    elif isinstance(kind, Numeric) and not isinstance(kind, Float):
        limit = column_limit(kind.precision, kind.scale)
        if limit is not None:
            checks.append(validate.Range(-limit, limit, error=OUT_OF_RANGE))
    elif isinstance(kind, (Date, DateTime)):
        checks.append(_storable_date)
    elif isinstance(kind, String):
        checks.append(_storable_text)
    elif isinstance(getattr(kind, "_variant_mapping", {}).get("postgresql"), ARRAY):  # tags: JSON on SQLite
        checks.append(_list_of_texts)
    field.validators = list(field.validators) + checks
    return field


def _replaced(field, kind):
    """A field of another kind with the same required / allow_none / metadata."""
    new = kind(required=field.required, allow_none=field.allow_none, metadata=dict(field.metadata))
    new.unique = getattr(field, "unique", False)
    return new


def _texts(messages) -> list[str]:
    """Every message of a marshmallow error, however nested (list items: {index: [...]})."""
    if isinstance(messages, str):
        return [messages]
    if isinstance(messages, dict):
        return [t for value in messages.values() for t in _texts(value)]
    if isinstance(messages, (list, tuple)):
        return [t for value in messages for t in _texts(value)]
    return []


MALFORMED = ("Unknown field.", "Not a valid datetime.", OffsetDateTime.default_error_messages["invalid_awareness"])
STATUS_OF = ((ConflictError, 409), (NotFoundError, 404), (PermissionDenied, 403), (MissingActor, 401))


class TranslatedRefusals:
    """FAB's own 403 ("Forbidden", a missing permission) and 404 ("Not found") in the request's
    language with the app's wording (app/errors.py), as `{"message": …}` like every other answer."""

    def response_403(self):
        return self.response(403, message=errors.message(403))

    def response_404(self):
        return self.response(404, message=errors.message(404))

    def response_500(self, message: str | None = None):
        """FAB's @safe answers 500 to any exception: a data error of the client's values is a 400,
        a body too large 413, the database away 503 (app/errors.py); only the rest stays 500."""
        answer = errors.fault_response(sys.exc_info()[1])
        return answer if answer is not None else super().response_500(message)


class CrmModelApi(TranslatedRefusals, ModelRestApi):
    """ModelRestApi with UUID keys and 4xx (never 500, never SQL) for client errors."""

    allow_browser_login = True  # the board calls the API with the session cookie + X-CSRFToken
    csrf_exempt = False
    page_size = 25
    method_permission_name = API_PERMISSIONS
    base_permissions = ["can_read", "can_write", "can_delete"]
    model2schemaconverter = CrmSchemaConverter

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
        try:
            body = request.get_json(silent=True)
        except RecursionError:  # a chunked body the request guard could not parse beforehand
            raise BadRequest("Request body is nested too deeply") from None
        if not isinstance(body, dict):
            raise BadRequest("Request body must be a JSON object")
        return body

    def schema_error(self, err: ValidationError):
        """Unknown fields and unreadable date-times (a time without its offset) are a malformed
        request (400); invalid values are 422."""
        messages = err.messages if isinstance(err.messages, dict) else {"_schema": err.messages}
        if set(MALFORMED) & set(_texts(messages)):
            return self.response(400, message=messages)
        return self.response(422, message=messages)

    def bad_request(self, exc: RuleViolation):
        """400 with the field messages of a malformed query parameter."""
        return self.response(400, message=translate(exc.messages))

    def text_errors(self, body: dict):
        """422 naming the fields whose text the database cannot store (NUL, a lone surrogate), or None."""
        found = json_errors(body)
        return self.response(422, message=translate(found)) if found else None

    def get_list_headless(self, **kwargs):
        """FAB's list, with rison paging bounded (a negative or huge page is a 400, not an OFFSET error)."""
        page = (kwargs.get("rison") or {}).get("page")  # FAB caps page_size itself
        if page is not None and (isinstance(page, bool) or not isinstance(page, int) or not 0 <= page <= MAX_PAGE):
            return self.response(400, message=translate({"page": [N_("Out of range.")]}))
        return super().get_list_headless(**kwargs)

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
        refused = self.text_errors(body)
        if refused:
            return refused
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
        refused = self.text_errors(body)
        if refused:
            return refused
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
        """Get one item by its UUID.
        ---
        get:
          description: Get one item by its UUID
          parameters:
          - {in: path, name: pk, required: true, schema: {type: string, format: uuid}}
          - in: query
            name: q
            content:
              application/json:
                schema: {$ref: '#/components/schemas/get_item_schema'}
          responses:
            200:
              description: the item
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      id: {type: string, format: uuid}
                      label_columns: {type: object}
                      show_columns: {type: array, items: {type: string}}
                      description_columns: {type: object}
                      show_title: {type: string}
                      result: {$ref: '#/components/schemas/{{self.__class__.__name__}}.get'}
            400: {$ref: '#/components/responses/400'}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
        """
        return self.get_headless(pk, **kwargs)

    @expose("/<uuid:pk>", methods=["PUT"])
    @protect()
    @safe
    @permission_name("put")
    def put(self, pk):
        """Update one item by its UUID (a partial update: send only what changes).
        ---
        put:
          description: >-
            Update one item by its UUID: a partial update (send only what changes), with
            `evidence_refs` where a change needs them.
          parameters:
          - {in: path, name: pk, required: true, schema: {type: string, format: uuid}}
          requestBody:
            required: true
            content:
              application/json:
                schema: {$ref: '#/components/schemas/{{self.__class__.__name__}}.put'}
          responses:
            200:
              description: the changed item
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      id: {type: string, format: uuid}
                      result: {$ref: '#/components/schemas/{{self.__class__.__name__}}.put'}
            400: {$ref: '#/components/responses/400'}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
            409: {$ref: '#/components/responses/409'}
            422: {$ref: '#/components/responses/422'}
        """
        return self.put_headless(pk)

    @expose("/<uuid:pk>", methods=["DELETE"])
    @protect()
    @safe
    @permission_name("delete")
    def delete(self, pk):
        """Delete one item by its UUID.
        ---
        delete:
          description: Delete one item by its UUID (audited; refused where history must stay)
          parameters:
          - {in: path, name: pk, required: true, schema: {type: string, format: uuid}}
          responses:
            200:
              description: deleted
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      message: {type: string}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
            409: {$ref: '#/components/responses/409'}
            422: {$ref: '#/components/responses/422'}
        """
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
          - {in: path, name: pk, required: true, schema: {type: string, format: uuid}}
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
