"""Duplicates over REST: the proposed pairs, "keep separate" and its undo (permission `Duplicates`:
read to list, write to decide), the merge endpoints' shared parsing, and how a merged record's id
answers (reads: the survivor; writes: 409 naming it).

    GET    /api/v1/accounts/duplicates                     pairs (page, page_size, reason, owner)
    POST   /api/v1/accounts/duplicates/keep-separate        {"ids": [a, b]} -> 201 decision
    DELETE /api/v1/accounts/duplicates/keep-separate/<id>   undo -> 200
    (the same under /api/v1/contacts/duplicates, with `account` instead of `owner`)
    POST   /api/v1/accounts/<survivor id>/merge            in app/api/account.py (contacts: contact.py)
"""
from __future__ import annotations

from flask import request
from flask_appbuilder.api import BaseApi, expose, safe
from flask_appbuilder.security.decorators import permission_name, protect
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from app.domain.duplicates import CONTACT_REASONS, REASONS
from app.domain.errors import N_, DomainError, RuleViolation
from app.queries import duplicates as queries
from app.services import merge as service
from app.web import change_request, request_actor, translate

from .base import CrmModelApi, TranslatedRefusals, paging

MERGED_WRITE = N_("This record was merged into another one: write to the survivor.")


class MergeSchema(Schema):
    """POST …/<survivor id>/merge."""

    class Meta:
        unknown = RAISE

    merge_ids = fields.List(fields.UUID(), required=True, validate=validate.Length(min=1, max=20),
                            metadata={"description": "the records merged into the survivor"})
    fields_ = fields.Dict(keys=fields.String(), values=fields.UUID(), data_key="fields", load_default=dict,
                          metadata={"description": "{field: id of the record whose value stays}; a field "
                                                   "not named keeps the survivor's value"})
    version = fields.Integer(allow_none=True, load_default=None, metadata={
        "description": "the survivor's version as read (the `version` of the pair lists): 409 if it changed"})


class KeepSeparateSchema(Schema):
    class Meta:
        unknown = RAISE

    ids = fields.List(fields.UUID(), required=True, validate=validate.Length(equal=2))


class AccountBriefSchema(Schema):
    id = fields.UUID()
    name = fields.String()
    domain = fields.String(allow_none=True)
    owner_user_id = fields.Integer(allow_none=True)
    version = fields.Integer()


class ContactBriefSchema(Schema):
    id = fields.UUID()
    account_id = fields.UUID()
    name = fields.String()
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    telegram_handle = fields.String(allow_none=True)
    version = fields.Integer()


class AccountPairSchema(Schema):
    a = fields.Nested(AccountBriefSchema)
    b = fields.Nested(AccountBriefSchema)
    reasons = fields.List(fields.String(validate=validate.OneOf(REASONS)))
    score = fields.Float()
    detected_at = fields.DateTime()


class ContactPairSchema(Schema):
    a = fields.Nested(ContactBriefSchema)
    b = fields.Nested(ContactBriefSchema)
    reasons = fields.List(fields.String(validate=validate.OneOf(CONTACT_REASONS)))
    score = fields.Float()
    detected_at = fields.DateTime()


class AccountPairListSchema(Schema):
    count = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()
    result = fields.List(fields.Nested(AccountPairSchema))


class ContactPairListSchema(Schema):
    count = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()
    result = fields.List(fields.Nested(ContactPairSchema))


class DecisionSchema(Schema):
    id = fields.UUID()
    kind = fields.String()
    a_id = fields.UUID()
    b_id = fields.UUID()
    decision = fields.String()
    decided_by_id = fields.Integer(allow_none=True)
    decided_at = fields.DateTime()


class DecisionResultSchema(Schema):
    id = fields.UUID()
    result = fields.Nested(DecisionSchema)


class PossibleDuplicateSchema(Schema):
    id = fields.UUID()
    name = fields.String()
    domain = fields.String(allow_none=True)
    reasons = fields.List(fields.String())
    score = fields.Float()


def brief(record, versions: dict) -> dict:
    """A record of a pair as JSON (with the version a merge may be checked against)."""
    keys = ("id", "name", "domain", "owner_user_id") if hasattr(record, "domain") else \
        ("id", "account_id", "name", "email", "phone", "telegram_handle")
    data = {k: getattr(record, k) for k in keys}
    return {**{k: str(v) if k in ("id", "account_id") and v is not None else v for k, v in data.items()},
            "version": versions.get(record.id, 0)}


def pairs_json(kind: str, pairs) -> list[dict]:
    versions = queries.record_versions(kind, [r.id for p in pairs for r in (p.a, p.b)])
    return [{"a": brief(p.a, versions), "b": brief(p.b, versions), "reasons": p.reasons, "score": p.score,
             "detected_at": p.detected_at.isoformat() if p.detected_at else None} for p in pairs]


def decision_json(decision) -> dict:
    return {"id": str(decision.id), "kind": decision.kind, "a_id": str(decision.a_id), "b_id": str(decision.b_id),
            "decision": decision.decision, "decided_by_id": decision.decided_by_id,
            "decided_at": decision.decided_at.isoformat() if decision.decided_at else None}


def possible_duplicates(candidates) -> list[dict]:
    return [{"id": str(c.account.id), "name": c.account.name, "domain": c.account.domain, "reasons": c.reasons,
             "score": c.score} for c in candidates]


class MergedRecords:
    """How a merged record's id answers on a record API: a read gives the survivor (its own id in
    the body, `merged_from` the id asked for), a write is 409 naming the survivor."""

    def survivor_of(self, pk):
        return queries.survivor_of(pk) if self.datamodel.obj.__name__ == "Account" else queries.contact_survivor_of(pk)

    def merged_write(self, pk):
        survivor = self.survivor_of(pk)
        if survivor is None:
            return None
        return self.response(409, message=translate({"id": [MERGED_WRITE]}), survivor_id=str(survivor))

    def get_headless(self, pk, **kwargs):
        answer = super().get_headless(pk, **kwargs)
        survivor = self.survivor_of(pk) if answer.status_code == 404 else None
        if survivor is None:
            return answer
        answer = super().get_headless(survivor, **kwargs)
        body = answer.get_json(silent=True)
        if answer.status_code != 200 or not isinstance(body, dict):
            return answer
        body["merged_from"] = str(pk)
        return self.response(200, **body)

    def put_headless(self, pk):
        return (self.datamodel.get(pk, self._base_filters) is None and self.merged_write(pk)) or super().put_headless(pk)

    def delete_headless(self, pk):
        return (self.datamodel.get(pk, self._base_filters) is None and self.merged_write(pk)) or super().delete_headless(pk)

    def merge_answer(self, verb, pk):
        """POST …/<survivor id>/merge: parse, call the verb, answer the survivor."""
        merged = self.datamodel.get(pk, self._base_filters) is None and self.merged_write(pk)
        if merged:
            return merged
        try:
            data = MergeSchema().load(self.json_body())
        except ValidationError as err:
            return self.schema_error(err)
        survivor, error = self.write(verb, change_request(expected_version=data["version"]), pk,
                                     data["merge_ids"], data["fields_"])
        if error:
            return error
        return self.response(200, id=str(survivor.id), merged_ids=[str(i) for i in data["merge_ids"]],
                             version=queries.record_version(self.datamodel.obj.__tablename__[:-1], survivor.id),
                             result=self.show_model_schema.dump(survivor))


class DuplicatesApi(TranslatedRefusals, BaseApi):
    """The proposed pairs of one kind and the "keep separate" decisions on them."""

    kind = ""
    class_permission_name = "Duplicates"
    method_permission_name = {"pairs": "read", "keep_separate": "write", "undo": "write"}
    base_permissions = ["can_read", "can_write"]
    allow_browser_login = True
    csrf_exempt = False
    openapi_spec_component_schemas = (AccountPairListSchema, ContactPairListSchema, KeepSeparateSchema,
                                      DecisionResultSchema, MergeSchema, PossibleDuplicateSchema)

    def bad_request(self, exc: RuleViolation):
        return self.response(400, message=translate(exc.messages))

    def domain_error(self, exc: DomainError):
        return CrmModelApi.domain_error(self, exc)

    def write(self, verb, *args):
        return CrmModelApi.write(self, verb, *args)

    def json_body(self) -> dict:
        return CrmModelApi.json_body(self)

    def schema_error(self, err):
        return CrmModelApi.schema_error(self, err)

    def _reason(self, allowed):
        reason = request.args.get("reason") or None
        if reason is not None and reason not in allowed:
            raise RuleViolation({"reason": [N_("Not a reason of a duplicate.")]})
        return reason

    def _pairs_page(self, query, reasons, filters):
        """A page of `query`'s pairs: paging, `reason` among `reasons` and the kind's own filters
        (`filters()` reads them from the query string) checked first, a 400 naming the field."""
        try:
            page, size = paging(50)
            reason = self._reason(reasons)
            more = filters()
        except RuleViolation as exc:
            return self.bad_request(exc)
        pairs, total = query(reason=reason, page=page, page_size=size, **more)
        return self.response(200, count=total, page=page, page_size=size, result=pairs_json(self.kind, pairs))

    @expose("/duplicates/keep-separate", methods=["POST"])
    @protect()
    @safe
    @permission_name("keep_separate")
    def keep_separate(self):
        """Keep two proposed records separate: the pair is not proposed again until undone.
        ---
        post:
          requestBody:
            required: true
            content:
              application/json:
                schema: {$ref: '#/components/schemas/KeepSeparateSchema'}
          responses:
            201:
              description: the decision (its id undoes it)
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/DecisionResultSchema'}
            400: {$ref: '#/components/responses/400'}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
            422: {$ref: '#/components/responses/422'}
        """
        try:
            data = KeepSeparateSchema().load(self.json_body())
        except ValidationError as err:
            return self.schema_error(err)
        decision, error = self.write(service.keep_separate, change_request(), self.kind, data["ids"])
        if error:
            return error
        return self.response(201, id=str(decision.id), result=decision_json(decision))

    @expose("/duplicates/keep-separate/<uuid:pk>", methods=["DELETE"])
    @protect()
    @safe
    @permission_name("undo")
    def undo(self, pk):
        """Undo a "keep separate" decision: the pair is proposed again if it still looks alike.
        ---
        delete:
          parameters:
          - {in: path, name: pk, required: true, schema: {type: string, format: uuid}, description: the decision's id}
          responses:
            200: {description: undone}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
        """
        _, error = self.write(service.undo_keep_separate, change_request(), pk)
        return error or self.response(200, message="OK")


class AccountDuplicatesApi(DuplicatesApi):
    resource_name = "accounts"
    kind = "account"

    @expose("/duplicates", methods=["GET"])
    @protect()
    @safe
    @permission_name("pairs")
    def pairs(self):
        """Proposed duplicate accounts, newest first (nothing is merged by itself).
        ---
        get:
          parameters:
          - {in: query, name: page, schema: {type: integer, minimum: 0}}
          - {in: query, name: page_size, schema: {type: integer, minimum: 1, maximum: 100}}
          - {in: query, name: reason, schema: {type: string, enum: [domain, name, similar_name, contact_email, contact_phone]}}
          - {in: query, name: owner, schema: {type: string}, description: "user id or me: pairs where either account is theirs"}
          responses:
            200:
              description: a page of pairs with both accounts, the reasons, a score (0..1) and when the pair appeared
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/AccountPairListSchema'}
            400: {$ref: '#/components/responses/400'}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
        """
        return self._pairs_page(queries.account_pairs, REASONS,
                                lambda: {"owner_id": _owner(request.args.get("owner"))})


class ContactDuplicatesApi(DuplicatesApi):
    resource_name = "contacts"
    kind = "contact"

    @expose("/duplicates", methods=["GET"])
    @protect()
    @safe
    @permission_name("pairs")
    def pairs(self):
        """Proposed duplicate contacts within one account (or every account), newest first.
        ---
        get:
          parameters:
          - {in: query, name: page, schema: {type: integer, minimum: 0}}
          - {in: query, name: page_size, schema: {type: integer, minimum: 1, maximum: 100}}
          - {in: query, name: reason, schema: {type: string, enum: [email, phone, telegram, name]}}
          - {in: query, name: account, schema: {type: string, format: uuid}, description: "only this account's contacts"}
          responses:
            200:
              description: a page of pairs with both contacts, the reasons, a score (0..1) and when the pair appeared
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/ContactPairListSchema'}
            400: {$ref: '#/components/responses/400'}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
        """
        return self._pairs_page(queries.contact_pairs, CONTACT_REASONS,
                                lambda: {"account_id": _account(request.args.get("account"))})


def _owner(value):
    value = (value or "").strip()
    if not value:
        return None
    if value == "me":
        return request_actor().id
    if value.isdigit() and len(value) < 10:
        return int(value)
    raise RuleViolation({"owner": [N_("A user id or me.")]})


def _account(value):
    import uuid

    value = (value or "").strip()
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise RuleViolation({"account": [N_("Not a valid id.")]}) from None


MERGE_DOC = """Merge {what} into this one (Owner, Admin): everything of theirs moves here, the chosen values stay.
        ---
        post:
          parameters:
          - {{in: path, name: pk, required: true, schema: {{type: string, format: uuid}}, description: the survivor}}
          requestBody:
            required: true
            content:
              application/json:
                schema: {{$ref: '#/components/schemas/MergeSchema'}}
          responses:
            200:
              description: the survivor after the merge
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      id: {{type: string, format: uuid}}
                      merged_ids: {{type: array, items: {{type: string, format: uuid}}}}
                      version: {{type: integer}}
                      result: {{type: object}}
            400: {{$ref: '#/components/responses/400'}}
            401: {{$ref: '#/components/responses/401'}}
            403: {{$ref: '#/components/responses/403'}}
            404: {{$ref: '#/components/responses/404'}}
            409: {{$ref: '#/components/responses/409'}}
            422: {{$ref: '#/components/responses/422'}}
        """
