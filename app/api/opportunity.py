"""Opportunities over REST: FAB's generated endpoints plus the spec's contract (PATCH with
evidence and version, plain list filters, audit history, notes)."""
from __future__ import annotations

from flask import request
from flask_appbuilder.api import ModelRestApi, expose, merge_response_func, rison, safe
from flask_appbuilder.api.schemas import get_list_schema
from flask_appbuilder.const import (API_DESCRIPTION_COLUMNS_RIS_KEY, API_LABEL_COLUMNS_RIS_KEY,
                                    API_LIST_COLUMNS_RIS_KEY, API_LIST_TITLE_RIS_KEY, API_ORDER_COLUMNS_RIS_KEY)
from app.web import CrmInterface
from flask_appbuilder.security.decorators import permission_name, protect
from marshmallow import ValidationError
from sqlalchemy import select

from app.domain.errors import N_, RuleViolation
from app.extensions import db
from app.domain.fields import EDITABLE_FIELDS
from app.models import Opportunity, OpportunityEvent
from app.models.choices import OPPORTUNITY_STATUSES, STAGES
from app.services import opportunities as service
from app.web import change_request, request_actor

from .base import CrmModelApi, comma_list
from app.schemas import (AcceptSchema, ErrorSchema, EventSchema, NoteSchema, OpportunityCreateSchema, OpportunityListSchema,
                      OpportunityOutSchema, OpportunityPatchSchema, OpportunityWriteResultSchema)

FIELDS = list(EDITABLE_FIELDS)
PLAIN_FILTERS = ("owner", "status", "stage", "account_id", "page", "page_size")
out_schema = OpportunityOutSchema()
event_schema = EventSchema()


def _owner_changes(data: dict) -> dict:
    """`owner` (id, username or 'me') becomes owner_user_id; both at once is ambiguous."""
    if "owner" in data and "owner_user_id" in data:
        raise RuleViolation({"owner": [N_("Give the owner once: `owner` or `owner_user_id`, not both.")]})
    if "owner" in data:
        owner = data.pop("owner")
        data["owner_user_id"] = None if owner is None else service.resolve_user_id(owner, request_actor().id)
    return data


class OpportunityApi(CrmModelApi):
    resource_name = "opportunities"
    datamodel = CrmInterface(Opportunity)
    class_permission_name = "Opportunity"
    exclude_route_methods = {"delete"}
    base_permissions = ["can_read", "can_write", "can_note", "can_reopen"]
    method_permission_name = {**CrmModelApi.method_permission_name, "patch": "write", "events": "read",
                              "add_note": "note", "accept": "write"}
    list_columns = ["id"] + FIELDS + ["stage_entered_at", "closed_at", "proposed", "version", "created_at", "updated_at"]
    show_columns = list_columns
    add_columns = FIELDS
    edit_columns = FIELDS
    search_columns = ["name", "stage", "status", "owner_user_id", "account_id", "forecast_category", "proposed"]
    order_columns = ["name", "stage", "amount_estimate", "next_step_due_at", "created_at", "updated_at"]
    openapi_spec_component_schemas = (EventSchema, AcceptSchema, OpportunityPatchSchema, OpportunityCreateSchema,
                                      OpportunityWriteResultSchema, NoteSchema, ErrorSchema, OpportunityListSchema)
    openapi_spec_methods = {
        "get_list": {"get": {"description": "List opportunities. Plain filters `owner` (user id, username or `me`), "
                                            "`status`, `stage` (comma lists allowed), `page`, `page_size`; FAB's rison "
                                            "`q` also works."}},
        # POST and PUT take the contract's bodies and answer the deal with the audit events written
        "post": {"post": {
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/OpportunityCreateSchema"}}}},
            "responses": {"201": {"description": "the new opportunity and its audit events", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/OpportunityWriteResultSchema"}}}},
                "400": {"$ref": "#/components/responses/400"}, "422": {"$ref": "#/components/responses/422"}}}},
        "put": {"put": {
            "description": "The same partial update as PATCH (rules, evidence and version alike).",
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/OpportunityPatchSchema"}}}},
            "responses": {"200": {"description": "the updated opportunity and the audit events written", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/OpportunityWriteResultSchema"}}}},
                "400": {"$ref": "#/components/responses/400"}, "404": {"$ref": "#/components/responses/404"},
                "409": {"$ref": "#/components/responses/409"}, "422": {"$ref": "#/components/responses/422"}}}},
    }

    def _write_result(self, code: int, opp, events):
        return self.response(code, id=str(opp.id), result=out_schema.dump(opp),
                             events=[event_schema.dump(e) for e in events])

    def post_headless(self):
        """Create through the contract schema (owner by id/username/me, status checked)."""
        try:
            data = OpportunityCreateSchema().load(self.json_body())
        except ValidationError as err:
            return self.schema_error(err)
        evidence = data.pop("evidence_refs", None) or []
        try:
            values = _owner_changes(data)
        except RuleViolation as exc:
            return self.domain_error(exc)
        result, error = self.write(service.create_opportunity, change_request(values, evidence_refs=evidence))
        return error or self._write_result(201, *result)

    @expose("/<uuid:pk>/accept", methods=["POST"])
    @protect()
    @safe
    @permission_name("write")
    def accept(self, pk):
        """Accept a deal proposed by inbound triage, with its name and amount (one audited action).
        ---
        post:
          parameters:
          - in: path
            schema: {type: string, format: uuid}
            name: pk
          requestBody:
            required: true
            content:
              application/json:
                schema: {$ref: '#/components/schemas/AcceptSchema'}
          responses:
            200:
              description: the accepted opportunity and the audit events written
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/OpportunityWriteResultSchema'}
            400: {description: malformed JSON or unknown fields}
            404: {description: no such opportunity}
            422: {description: "not a proposal, or name/amount missing"}
        """
        try:
            data = AcceptSchema().load(self.json_body())
            values = _owner_changes(data)
        except ValidationError as err:
            return self.schema_error(err)
        except RuleViolation as exc:
            return self.domain_error(exc)
        result, error = self.write(service.accept_proposal, change_request(values), pk)
        return error or self._write_result(200, *result)

    def put_headless(self, pk):
        """PUT is the same partial update as PATCH (rules, evidence and version alike)."""
        return self._patch(pk)

    def _patch(self, pk):
        try:
            data = OpportunityPatchSchema().load(self.json_body())
        except ValidationError as err:
            return self.schema_error(err)
        evidence = data.pop("evidence_refs", None) or []
        version = data.pop("version", None)
        try:
            changes = _owner_changes(data)
        except RuleViolation as exc:
            return self.domain_error(exc)
        result, error = self.write(service.update_opportunity,
                                   change_request(changes, evidence_refs=evidence, expected_version=version), pk)
        return error or self._write_result(200, *result)

    @expose("/<uuid:pk>", methods=["PATCH"])
    @protect()
    @safe
    @permission_name("write")
    def patch(self, pk):
        """Change stage, amount, probability, next step, … with evidence and the version read.
        ---
        patch:
          parameters:
          - in: path
            schema: {type: string, format: uuid}
            name: pk
          requestBody:
            required: true
            content:
              application/json:
                schema: {$ref: '#/components/schemas/OpportunityPatchSchema'}
          responses:
            200:
              description: the updated opportunity and the audit events written
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/OpportunityWriteResultSchema'}
            400: {description: malformed JSON or unknown fields}
            404: {description: no such opportunity}
            409: {description: stale version}
            422:
              description: a rule refused the change, per field
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/ErrorSchema'}
        """
        return self._patch(pk)

    @expose("/<uuid:pk>/events", methods=["GET"])
    @protect()
    @safe
    @permission_name("read")
    def events(self, pk):
        """The audit history of an opportunity, newest first.
        ---
        get:
          parameters:
          - in: path
            schema: {type: string, format: uuid}
            name: pk
          responses:
            200:
              description: events
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      count: {type: integer}
                      result: {type: array, items: {$ref: '#/components/schemas/EventSchema'}}
            404: {description: no such opportunity}
        """
        if db.session.get(Opportunity, pk) is None:
            return self.response_404()
        rows = list(db.session.scalars(
            select(OpportunityEvent).where(OpportunityEvent.opportunity_id == pk)
            .order_by(OpportunityEvent.created_at.desc(), OpportunityEvent.id)))
        return self.response(200, count=len(rows), result=[event_schema.dump(e) for e in rows])

    @expose("/<uuid:pk>/notes", methods=["POST"])
    @protect()
    @safe
    @permission_name("note")
    def add_note(self, pk):
        """Add a note to the deal's timeline (Owner, Sales and PM).
        ---
        post:
          parameters:
          - in: path
            schema: {type: string, format: uuid}
            name: pk
          requestBody:
            required: true
            content:
              application/json:
                schema: {$ref: '#/components/schemas/NoteSchema'}
          responses:
            201:
              description: the note event
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/EventSchema'}
            400: {description: malformed JSON or unknown fields}
            404: {description: no such opportunity}
            422: {description: blank text or bad evidence}
        """
        try:
            data = NoteSchema().load(self.json_body())
        except ValidationError as err:
            return self.schema_error(err)
        event, error = self.write(service.add_note, change_request({"text": data["text"]},
                                                                   evidence_refs=data.get("evidence_refs") or []), pk)
        return error or self.response(201, id=str(event.id), result=event_schema.dump(event))

    @expose("/", methods=["GET"])
    @protect()
    @safe
    @permission_name("read")
    @rison(get_list_schema)
    @merge_response_func(ModelRestApi.merge_order_columns, API_ORDER_COLUMNS_RIS_KEY)
    @merge_response_func(ModelRestApi.merge_list_label_columns, API_LABEL_COLUMNS_RIS_KEY)
    @merge_response_func(ModelRestApi.merge_description_columns, API_DESCRIPTION_COLUMNS_RIS_KEY)
    @merge_response_func(ModelRestApi.merge_list_columns, API_LIST_COLUMNS_RIS_KEY)
    @merge_response_func(ModelRestApi.merge_list_title, API_LIST_TITLE_RIS_KEY)
    def get_list(self, **kwargs):
        """List opportunities with plain filters (owner, status, stage, account_id) or rison `q`.
        ---
        get:
          parameters:
          - {in: query, name: owner, schema: {type: string}, description: "user id, username or me; comma list"}
          - {in: query, name: status, schema: {type: string}, description: "open, won, lost; comma list"}
          - {in: query, name: stage, schema: {type: string}, description: "stage names; comma list"}
          - {in: query, name: account_id, schema: {type: string, format: uuid}}
          - {in: query, name: page, schema: {type: integer, minimum: 0}}
          - {in: query, name: page_size, schema: {type: integer, minimum: 1, maximum: 100}}
          - {in: query, name: q, content: {application/json: {schema: {$ref: '#/components/schemas/get_list_schema'}}}}
          responses:
            200:
              description: a page of opportunities
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/OpportunityListSchema'}
            400: {description: bad filter}
        """
        if not any(name in request.args for name in PLAIN_FILTERS):
            return self.get_list_headless(**kwargs)
        try:
            query = self._plain_query()
        except RuleViolation as exc:
            return self.bad_request(exc)
        return self.plain_list(query, (Opportunity.next_step_due_at.asc().nulls_last(), Opportunity.id),
                               lambda rows: out_schema.dump(rows, many=True))

    def _plain_query(self):
        query = select(Opportunity)
        owners = comma_list("owner")
        if owners:
            actor = request_actor().id
            query = query.where(Opportunity.owner_user_id.in_([int(o) if o.isdigit() else service.resolve_user_id(o, actor) for o in owners]))
        for name, column, allowed in (("status", Opportunity.status, OPPORTUNITY_STATUSES),
                                      ("stage", Opportunity.stage, STAGES)):
            values = comma_list(name)
            if values:
                if any(v not in allowed for v in values):
                    raise RuleViolation({name: [N_("Unknown value.")]})
                query = query.where(column.in_(values))
        account = request.args.get("account_id")
        if account:
            account_id = service.parse_uuid(account)
            if account_id is None:
                raise RuleViolation({"account_id": [N_("Not a valid UUID.")]})
            query = query.where(Opportunity.account_id == account_id)
        return query
