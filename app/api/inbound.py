"""Inbound threads over REST: read them (plain filters or rison `q`, one thread with a page of its
messages) and run the triage actions. Each action calls its verb in app/services/triage.py with a
change request; repeating an action answers 200 with `changed: false` and writes nothing."""
from __future__ import annotations

import uuid


from flask import request
from flask_appbuilder.api import ModelRestApi, expose, merge_response_func, rison, safe
from flask_appbuilder.api.schemas import get_item_schema, get_list_schema
from flask_appbuilder.const import (API_DESCRIPTION_COLUMNS_RIS_KEY, API_LABEL_COLUMNS_RIS_KEY,
                                    API_LIST_COLUMNS_RIS_KEY, API_LIST_TITLE_RIS_KEY, API_ORDER_COLUMNS_RIS_KEY,
                                    API_SHOW_COLUMNS_RIS_KEY, API_SHOW_TITLE_RIS_KEY)
from flask_appbuilder.security.decorators import permission_name, protect
from marshmallow import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import raiseload

from app.domain.errors import N_, ConflictError, DomainError, RuleViolation
from app.extensions import db
from app.models import Contact, InboundMessage, InboundThread, Opportunity
from app.models.choices import INBOUND_SOURCES, THREAD_STATUSES
from app.schemas import (ErrorSchema, InboundMessageOutSchema, InboundThreadDetailSchema, InboundThreadListSchema,
                         InboundThreadOutSchema, InboundThreadStateSchema, OpportunityOutSchema,
                         TriageAssignSchema, TriageCreateAccountSchema, TriageNoBodySchema, TriageProposeSchema,
                         TriageResultSchema)
from app.services import triage
from app.web import CrmInterface, change_request, translate

from .account import existing_account_id
from .base import CrmModelApi, comma_list, paging

PLAIN_FILTERS = ("status", "source", "account_id", "page", "page_size")
MESSAGES_PAGE_SIZE = 50
TRIAGE_ACTIONS = ("assign", "create_account", "propose", "ignore", "undo")
thread_schema = InboundThreadOutSchema()
message_schema = InboundMessageOutSchema()
state_schema = InboundThreadStateSchema()


def _thread_state(thread: InboundThread) -> dict:
    return state_schema.dump(thread)


class InboundThreadApi(CrmModelApi):
    """Inbound threads: read (Owner, Sales, Admin) and triage ("can write on Triage"). Threads are
    created by ingestion and changed only by the triage actions: no POST, PUT or DELETE."""

    resource_name = "inbound_threads"
    datamodel = CrmInterface(InboundThread)
    class_permission_name = "Triage"
    base_permissions = ["can_read", "can_write"]  # the same set as TriageView and the admin views
    exclude_route_methods = {"post", "put", "delete"}
    method_permission_name = {**CrmModelApi.method_permission_name,
                              **{action: "write" for action in TRIAGE_ACTIONS}}
    list_columns = ["id", "source", "external_key", "title", "status", "account_id", "contact_id", "opportunity_id",
                    "first_message_at", "last_message_at", "message_count", "assigned_by_user_id", "assigned_at",
                    "created_at", "updated_at"]
    show_columns = list_columns
    search_columns = ["status", "source", "account_id", "title", "external_key", "message_count", "last_message_at"]
    order_columns = ["last_message_at", "first_message_at", "title", "status", "source", "message_count", "created_at"]
    base_order = ("last_message_at", "desc")
    openapi_spec_component_schemas = (TriageAssignSchema, TriageCreateAccountSchema, TriageProposeSchema,
                                      TriageNoBodySchema, TriageResultSchema, InboundThreadListSchema,
                                      InboundThreadDetailSchema, ErrorSchema)

    # ---- reads ---------------------------------------------------------------------------------

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
        """List inbound threads with plain filters (status, source, account_id) or rison `q`.
        ---
        get:
          description: >-
            Newest message first. Plain filters `status` (unassigned, assigned, ignored) and
            `source` (chatwoot, telegram), both comma lists, and `account_id`, paged with `page` and
            `page_size` (at most 100). Without plain filters FAB's rison `q` works (filters on
            status, source, account_id (eq), title, external_key, message_count, last_message_at);
            giving both is a 400.
          parameters:
          - {in: query, name: status, schema: {type: string}, description: "unassigned, assigned, ignored; comma list"}
          - {in: query, name: source, schema: {type: string}, description: "chatwoot, telegram; comma list"}
          - {in: query, name: account_id, schema: {type: string, format: uuid}}
          - {in: query, name: page, schema: {type: integer, minimum: 0}}
          - {in: query, name: page_size, schema: {type: integer, minimum: 1, maximum: 100}}
          - {in: query, name: q, content: {application/json: {schema: {$ref: '#/components/schemas/get_list_schema'}}}}
          responses:
            200:
              description: a page of threads
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/InboundThreadListSchema'}
            400: {description: "bad filter value, or plain filters together with q"}
            401: {description: not logged in}
            403: {description: no read permission on Triage}
        """
        if not any(name in request.args for name in PLAIN_FILTERS):
            return self.get_list_headless(**kwargs)
        if "q" in request.args:
            return self.response(400, message={"q": ["Use either the plain filters or q, not both."]})
        try:
            query = self._plain_query()
        except RuleViolation as exc:
            return self.bad_request(exc)
        return self.plain_list(query, (InboundThread.last_message_at.desc().nulls_last(), InboundThread.id),
                               lambda rows: thread_schema.dump(rows, many=True))

    def _plain_query(self):
        query = select(InboundThread)
        for name, column, allowed in (("status", InboundThread.status, THREAD_STATUSES),
                                      ("source", InboundThread.source, INBOUND_SOURCES)):
            values = comma_list(name)
            if (name in request.args and not values) or any(v not in allowed for v in values):
                raise RuleViolation({name: [N_("Unknown value.")]})
            if values:
                query = query.where(column.in_(values))
        if "account_id" in request.args:
            try:
                account_id = uuid.UUID(request.args["account_id"].strip())
            except ValueError:
                raise RuleViolation({"account_id": [N_("Not a valid UUID.")]}) from None
            query = query.where(InboundThread.account_id == account_id)
        return query

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
        """One thread with a page of its messages.
        ---
        get:
          description: >-
            The thread and its messages newest first, one page at a time: `messages_page` (from 0)
            and `messages_page_size` (default 50, at most 100); `messages_total` says how many there
            are. Private Chatwoot notes are included (`private: true`); raw payloads are not.
          parameters:
          - {in: path, name: pk, schema: {type: string, format: uuid}}
          - {in: query, name: messages_page, schema: {type: integer, minimum: 0}}
          - {in: query, name: messages_page_size, schema: {type: integer, minimum: 1, maximum: 100}}
          responses:
            200:
              description: the thread with one page of messages
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      id: {type: string, format: uuid}
                      result: {$ref: '#/components/schemas/InboundThreadDetailSchema'}
            400: {description: bad messages_page or messages_page_size}
            401: {description: not logged in}
            403: {description: no read permission on Triage}
            404: {description: no such thread}
        """
        return self.get_headless(pk, **kwargs)

    def get_headless(self, pk, **kwargs):
        """The thread and one page of its messages (404 before a bad paging parameter's 400)."""
        try:
            self._messages_page()
        except RuleViolation as exc:
            if db.session.get(InboundThread, pk) is None:
                return self.response_404()
            return self.response(400, message=translate(exc.messages))
        return super().get_headless(pk, **kwargs)

    def _messages_page(self) -> tuple[int, int]:
        return paging(MESSAGES_PAGE_SIZE, "messages_page", "messages_page_size")

    def pre_get(self, data: dict) -> None:
        thread = db.session.get(InboundThread, data["id"])
        page, size = self._messages_page()
        total = db.session.scalar(select(func.count()).select_from(InboundMessage)
                                  .where(InboundMessage.thread_id == thread.id))
        messages = db.session.scalars(
            select(InboundMessage).options(raiseload("*")).where(InboundMessage.thread_id == thread.id)
            .order_by(InboundMessage.sent_at.desc(), InboundMessage.id).offset(page * size).limit(size))
        data["id"] = str(thread.id)
        data["result"] = {**thread_schema.dump(thread), "messages": message_schema.dump(messages, many=True),
                          "messages_total": total, "messages_page": page, "messages_page_size": size}

    # ---- triage actions ------------------------------------------------------------------------

    def _act(self, pk, action: str, schema, run):
        """404 for a missing thread, then 400 for a malformed body, then the verb (422/409)."""
        thread = db.session.get(InboundThread, pk)
        if thread is None:
            return self.response_404()
        before = _thread_state(thread)
        try:
            body = schema.load(self._optional_body())
        except ValidationError as err:
            return self.schema_error(err)
        try:
            outcome, extra = run(body)
        except DomainError as exc:
            return self.domain_error(exc)
        thread = db.session.get(InboundThread, pk)
        after = _thread_state(thread)
        changed = outcome if isinstance(outcome, bool) else after != before
        return self.response(200, id=str(pk), action=action, changed=changed, result=after, **extra)

    def _optional_body(self) -> dict:
        """The JSON object sent, or {} when there is no body at all."""
        if not request.get_data(cache=True):
            return {}
        return self.json_body()

    def domain_error(self, exc: DomainError):
        """A duplicate domain in create_account answers 409 with the id of the account that has it."""
        if isinstance(exc, ConflictError) and "domain" in exc.messages and not getattr(exc, "existing_id", None):
            body = request.get_json(silent=True)
            found = existing_account_id(body.get("domain")) if isinstance(body, dict) else None
            if found:
                exc.existing_id = str(found)
        return super().domain_error(exc)

    @expose("/<uuid:pk>/assign", methods=["POST"])
    @protect()
    @safe
    @permission_name("assign")
    def assign(self, pk):
        """Attach the thread to an account.
        ---
        post:
          description: >-
            Attaches the thread to an existing account (status `assigned`). Again with the same
            account: 200 with `changed: false`, nothing written.
          parameters:
          - {in: path, name: pk, schema: {type: string, format: uuid}}
          requestBody:
            required: true
            content:
              application/json:
                schema: {$ref: '#/components/schemas/TriageAssignSchema'}
          responses:
            200:
              description: the thread's new state
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/TriageResultSchema'}
            400: {description: malformed JSON or unknown fields}
            403: {description: no write permission on Triage}
            404: {description: no such thread}
            422:
              description: "no such account, or a malformed account_id"
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/ErrorSchema'}
        """
        def run(body):
            return triage.assign_thread(change_request(), pk, body["account_id"], body.get("project_id")), {}
        return self._act(pk, "assign", TriageAssignSchema(), run)

    @expose("/<uuid:pk>/create_account", methods=["POST"])
    @protect()
    @safe
    @permission_name("create_account")
    def create_account(self, pk):
        """Create the account (and contact) from the sender and attach the thread to it.
        ---
        post:
          description: >-
            Creates the account (owned by you) and, when `contact_name` is given, its contact, then
            attaches the thread. A thread that already has an account: 200 with `changed: false` and
            that account; nothing is created.
          parameters:
          - {in: path, name: pk, schema: {type: string, format: uuid}}
          requestBody:
            required: true
            content:
              application/json:
                schema: {$ref: '#/components/schemas/TriageCreateAccountSchema'}
          responses:
            200:
              description: the thread's new state, the account and the contact
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/TriageResultSchema'}
            400: {description: malformed JSON or unknown fields}
            403: {description: no write permission on Triage}
            404: {description: no such thread}
            409: {description: "an account with this domain exists (its id in `id`), or a contact with this e-mail"}
            422:
              description: "blank account name, invalid domain or e-mail (per field); nothing written"
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/ErrorSchema'}
        """
        def run(body):
            account = triage.create_account_from_sender(change_request(body), pk)
            thread = db.session.get(InboundThread, pk)
            contact = db.session.get(Contact, thread.contact_id) if thread.contact_id else None
            return None, {"account": {"id": str(account.id), "name": account.name, "domain": account.domain},
                          "contact": {"id": str(contact.id), "name": contact.name} if contact else None}
        return self._act(pk, "create_account", TriageCreateAccountSchema(), run)

    @expose("/<uuid:pk>/propose", methods=["POST"])
    @protect()
    @safe
    @permission_name("propose")
    def propose(self, pk):
        """Propose an opportunity on the thread's account.
        ---
        post:
          description: >-
            Creates a *proposed* opportunity (it waits above the board until a person accepts it).
            Again: 200 with `changed: false` and the same opportunity. The body is optional.
          parameters:
          - {in: path, name: pk, schema: {type: string, format: uuid}}
          requestBody:
            required: false
            content:
              application/json:
                schema: {$ref: '#/components/schemas/TriageProposeSchema'}
          responses:
            200:
              description: the thread's new state and the opportunity
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/TriageResultSchema'}
            400: {description: malformed JSON or unknown fields}
            403: {description: no write permission on Triage}
            404: {description: no such thread}
            422: {description: the thread has no account yet}
        """
        def run(body):
            opp = triage.propose_opportunity(change_request(), pk, body.get("name"))
            return None, {"opportunity": OpportunityOutSchema().dump(db.session.get(Opportunity, opp.id))}
        return self._act(pk, "propose", TriageProposeSchema(), run)

    @expose("/<uuid:pk>/ignore", methods=["POST"])
    @protect()
    @safe
    @permission_name("ignore")
    def ignore(self, pk):
        """Take the thread out of the triage queue.
        ---
        post:
          description: "Status `ignored`. Again: 200 with `changed: false`. No body (or `{}`)."
          parameters:
          - {in: path, name: pk, schema: {type: string, format: uuid}}
          responses:
            200:
              description: the thread's new state
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/TriageResultSchema'}
            400: {description: a body with fields}
            403: {description: no write permission on Triage}
            404: {description: no such thread}
        """
        def run(body):
            return triage.ignore_thread(change_request(), pk), {}
        return self._act(pk, "ignore", TriageNoBodySchema(), run)

    @expose("/<uuid:pk>/undo", methods=["POST"])
    @protect()
    @safe
    @permission_name("undo")
    def undo(self, pk):
        """Undo the thread's last triage action.
        ---
        post:
          description: >-
            Puts the thread back as it was before its last person's action; a proposed opportunity
            that action created is withdrawn (kept and audited, never deleted). `undone` names the
            action undone; nothing left to undo: 200 with `changed: false` and `undone: null`.
          parameters:
          - {in: path, name: pk, schema: {type: string, format: uuid}}
          responses:
            200:
              description: the thread's new state
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/TriageResultSchema'}
            400: {description: a body with fields}
            403: {description: no write permission on Triage}
            404: {description: no such thread}
        """
        def run(body):
            undone = triage.undo_last_action(change_request(), pk)
            return undone is not None, {"undone": undone}
        return self._act(pk, "undo", TriageNoBodySchema(), run)

