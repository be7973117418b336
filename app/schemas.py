"""Request and response schemas of the spec's contract endpoints (also their OpenAPI docs)."""
from __future__ import annotations

from datetime import timezone

from marshmallow import INCLUDE, RAISE, Schema, ValidationError, fields, pre_load, validate

from app.domain.next_step import next_step_state
from app.domain.ranges import MAX_INT, OUT_OF_RANGE, RANGES, date_error
from app.domain.text import json_errors
from app.models.types import utcnow
from app.models.choices import FORECAST_CATEGORIES, OPPORTUNITY_STATUSES, STAGES

_clock = utcnow  # the viewer's "now" ("today" is their local day); the web layer sets it


def set_clock(clock) -> None:
    """Where "now" comes from for verdicts such as next_step_state (create_app passes the request
    viewer's local time)."""
    global _clock
    _clock = clock


class OffsetDateTime(fields.AwareDateTime):
    """ISO 8601 with an offset (any zone; stored in UTC). A time without an offset is refused:
    the server cannot know which zone a script meant."""

    default_error_messages = {"invalid_awareness": "Give the offset too, e.g. 2026-12-01T14:00:00+03:00 or …Z.",
                              "out_of_range": OUT_OF_RANGE}

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        if date_error(result):  # a year 1 at +03:00 is year 0 in UTC: no database or zone can hold it
            raise self.make_error("out_of_range")
        return result


class Day(fields.Date):
    """An ISO date between 1900 and 2999 (ranges.EARLIEST..LATEST)."""

    default_error_messages = {"out_of_range": OUT_OF_RANGE}

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        if date_error(result):
            raise self.make_error("out_of_range")
        return result


class UTCDateTime(fields.DateTime):
    """ISO 8601 with an offset; SQLite's naive values are read as UTC."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return super()._serialize(value, attr, obj, **kwargs)


def in_range(name: str) -> list[validate.Range]:
    """Marshmallow ranges from the domain's one table of ranges: the rule, and the column's limit."""
    bounds = RANGES[name]
    rules = [validate.Range(bounds.low, bounds.high, error=bounds.message)]
    if bounds.limit is not None:
        rules.append(validate.Range(-bounds.limit, bounds.limit, error=OUT_OF_RANGE))
    return rules


STORED_INT = validate.Range(-MAX_INT - 1, MAX_INT, error=OUT_OF_RANGE)  # fits an INTEGER column


class InputSchema(Schema):
    """A request body: unknown fields refused (400); a text with NUL or a lone surrogate, which
    the database cannot store, refused on its field (422) before any value is read."""

    class Meta:
        unknown = RAISE

    @pre_load
    def _storable_text(self, data, **kwargs):
        errors = json_errors(data)
        if errors:
            raise ValidationError(errors)
        return data


CURRENCY = validate.Regexp(r"^[A-Z]{3}$", error="Must be a three-letter ISO 4217 code, e.g. RUB.")


class OpportunityChangeFields(InputSchema):
    stage = fields.String(validate=validate.OneOf(STAGES))
    status = fields.String(validate=validate.OneOf(OPPORTUNITY_STATUSES),
                           metadata={"description": "follows the stage; a contradicting value is refused"})
    amount_estimate = fields.Decimal(allow_none=True, places=2, validate=in_range("amount_estimate"), as_string=True)
    currency = fields.String(validate=CURRENCY)
    probability = fields.Decimal(allow_none=True, validate=in_range("probability"), as_string=True)
    forecast_category = fields.String(validate=validate.OneOf(FORECAST_CATEGORIES))
    next_step_text = fields.String(allow_none=True, validate=validate.Length(max=2000))
    next_step_due_at = OffsetDateTime(allow_none=True)
    lost_reason = fields.String(allow_none=True, validate=validate.Length(max=2000))
    discount_percent = fields.Decimal(allow_none=True, validate=in_range("discount_percent"), as_string=True)
    close_date_target = Day(allow_none=True)
    owner = fields.Raw(allow_none=True, metadata={"description": "user id, username or 'me'"})
    owner_user_id = fields.Integer(allow_none=True, strict=True, validate=STORED_INT)
    project_id = fields.UUID(allow_none=True, metadata={"description": "the project this deal belongs to (an upsell "
                                                        "or change request): only its members see it"})
    source = fields.String(allow_none=True, validate=validate.Length(max=64))
    primary_competitor = fields.String(allow_none=True, validate=validate.Length(max=255))


class OpportunityPatchSchema(OpportunityChangeFields):
    name = fields.String(validate=validate.Length(min=1, max=255))
    evidence_refs = fields.List(fields.Raw(), metadata={"description": "required when stage, amount, discount "
                                                        "or lost_reason change; items as EvidenceRef"})
    version = fields.Integer(strict=True, validate=STORED_INT, metadata={"description": "the version you read; a stale one answers 409"})


class OpportunityCreateSchema(OpportunityChangeFields):
    account_id = fields.UUID(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    evidence_refs = fields.List(fields.Raw(), metadata={"description": "required when the deal is created past "
                                                        "lead (or won/lost): items as in PATCH"})


class AcceptSchema(InputSchema):
    """Accepting a proposed deal: its name and amount (and optionally owner and next step)."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    amount_estimate = fields.Decimal(required=True, places=2, validate=in_range("amount_estimate"), as_string=True)
    currency = fields.String(validate=CURRENCY)
    owner = fields.Raw(allow_none=True, metadata={"description": "user id, username or 'me'"})
    next_step_text = fields.String(allow_none=True, validate=validate.Length(max=2000))
    next_step_due_at = OffsetDateTime(allow_none=True)


class NoteSchema(InputSchema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=10000))
    evidence_refs = fields.List(fields.Raw())


class EventSchema(Schema):
    id = fields.UUID()
    opportunity_id = fields.UUID()
    event_type = fields.String()
    old_value = fields.Raw(allow_none=True)
    new_value = fields.Raw(allow_none=True)
    actor_user_id = fields.Integer(allow_none=True)
    actor = fields.Function(lambda e: e.actor.username if e.actor else None)
    evidence_refs = fields.List(fields.Raw())
    created_at = UTCDateTime()


class OpportunityOutSchema(Schema):
    id = fields.UUID()
    account_id = fields.UUID()
    name = fields.String()
    stage = fields.String()
    status = fields.String()
    amount_estimate = fields.Decimal(as_string=True, allow_none=True)
    currency = fields.String()
    probability = fields.Decimal(as_string=True, allow_none=True)
    forecast_category = fields.String()
    close_date_target = fields.Date(allow_none=True)
    source = fields.String(allow_none=True)
    primary_competitor = fields.String(allow_none=True)
    owner_user_id = fields.Integer(allow_none=True)
    project_id = fields.UUID(allow_none=True)
    next_step_text = fields.String(allow_none=True)
    next_step_due_at = UTCDateTime(allow_none=True)
    lost_reason = fields.String(allow_none=True)
    discount_percent = fields.Decimal(as_string=True, allow_none=True)
    stage_entered_at = UTCDateTime()
    closed_at = UTCDateTime(allow_none=True)
    proposed = fields.Boolean()
    version = fields.Integer()
    created_at = UTCDateTime()
    updated_at = UTCDateTime()
    next_step_state = fields.Function(lambda o: next_step_state(o.next_step_due_at, _clock(), o.status),
                                      metadata={"description": "the server's verdict: none, overdue, today, "
                                                               "future or closed"})


class OpportunityWriteResultSchema(Schema):
    id = fields.UUID()
    result = fields.Nested(OpportunityOutSchema)
    events = fields.List(fields.Nested(EventSchema))


class ErrorSchema(Schema):
    """Every refusal: `{"message": …}` (a 409 of a duplicate also carries the existing record's id)."""

    class Meta:
        unknown = INCLUDE  # documented as open: a refusal may carry more keys

    message = fields.Raw(required=True, metadata={
        "description": "a text, or {field: [why, …]} (nested for list items, e.g. evidence_refs)",
        "oneOf": [{"type": "string"}, {"type": "object", "additionalProperties": True}]})
    id = fields.UUID(metadata={"description": "409 of a duplicate: the record that already has the value"})
    existing_id = fields.UUID(metadata={"description": "the same as id"})


class OpportunityListSchema(Schema):
    count = fields.Integer()
    ids = fields.List(fields.UUID())
    result = fields.List(fields.Nested(OpportunityOutSchema))
    page = fields.Integer()
    page_size = fields.Integer()


# ---------------------------------------------------------------------------------------------
# Inbound over REST (app/api/inbound.py): triage action bodies and answers, threads, messages.
# The values are checked by the triage verbs (one definition each); these only bound the shapes.
# ---------------------------------------------------------------------------------------------

class TriageNoBodySchema(InputSchema):
    """ignore and undo take no fields (an empty object or no body)."""


class TriageAssignSchema(InputSchema):
    account_id = fields.UUID(required=True, metadata={"description": "the account to attach the thread to"})
    project_id = fields.UUID(allow_none=True, metadata={"description": "optionally one of the account's projects: "
                                                        "then only its members see the thread"})


class TriageCreateAccountSchema(InputSchema):
    """The account (and, with a contact_name, its contact) to create from the sender."""

    account_name = fields.String(allow_none=True, validate=validate.Length(max=255),
                                 metadata={"description": "required: a blank name answers 422"})
    domain = fields.String(allow_none=True, validate=validate.Length(max=255))
    contact_name = fields.String(allow_none=True, validate=validate.Length(max=255),
                                 metadata={"description": "when given, a contact is created on the account"})
    email = fields.String(allow_none=True, validate=validate.Length(max=320))
    phone = fields.String(allow_none=True, validate=validate.Length(max=64))
    telegram_handle = fields.String(allow_none=True, validate=validate.Length(max=64))


class TriageProposeSchema(InputSchema):
    name = fields.String(allow_none=True, validate=validate.Length(max=255),
                         metadata={"description": "the proposed deal's name (default: the thread's title)"})


class InboundThreadStateSchema(Schema):
    status = fields.String(metadata={"description": "unassigned, assigned or ignored"})
    account_id = fields.UUID(allow_none=True)
    contact_id = fields.UUID(allow_none=True)
    opportunity_id = fields.UUID(allow_none=True)


class TriageResultSchema(Schema):
    id = fields.UUID(metadata={"description": "the thread"})
    action = fields.String(metadata={"description": "assign, create_account, propose, ignore or undo"})
    changed = fields.Boolean(metadata={"description": "false when the action had been done already (nothing written)"})
    result = fields.Nested(InboundThreadStateSchema, metadata={"description": "the thread's state after the action"})
    account = fields.Dict(metadata={"description": "create_account: {id, name, domain}"})
    contact = fields.Dict(allow_none=True, metadata={"description": "create_account: {id, name} or null"})
    opportunity = fields.Nested(OpportunityOutSchema, metadata={"description": "propose: the proposed opportunity"})
    undone = fields.String(allow_none=True, metadata={"description": "undo: the action undone, or null"})


class InboundThreadOutSchema(Schema):
    id = fields.UUID()
    source = fields.String()
    external_key = fields.String()
    title = fields.String(allow_none=True)
    status = fields.String()
    account_id = fields.UUID(allow_none=True)
    contact_id = fields.UUID(allow_none=True)
    opportunity_id = fields.UUID(allow_none=True)
    first_message_at = UTCDateTime(allow_none=True)
    last_message_at = UTCDateTime(allow_none=True)
    message_count = fields.Integer()
    assigned_by_user_id = fields.Integer(allow_none=True)
    assigned_at = UTCDateTime(allow_none=True)
    created_at = UTCDateTime()
    updated_at = UTCDateTime()


class InboundMessageOutSchema(Schema):
    id = fields.UUID()
    source = fields.String()
    external_key = fields.String()
    direction = fields.String(metadata={"description": "incoming or outgoing"})
    private = fields.Boolean(metadata={"description": "a private Chatwoot note (not a client touch)"})
    sender_name = fields.String(allow_none=True)
    sender_handle = fields.String(allow_none=True)
    sender_email = fields.String(allow_none=True)
    sender_phone = fields.String(allow_none=True)
    text = fields.String()
    sent_at = UTCDateTime()
    edited_at = UTCDateTime(allow_none=True)


class InboundThreadListSchema(Schema):
    count = fields.Integer()
    ids = fields.List(fields.UUID())
    result = fields.List(fields.Nested(InboundThreadOutSchema))
    page = fields.Integer()
    page_size = fields.Integer()


class InboundThreadDetailSchema(InboundThreadOutSchema):
    messages = fields.List(fields.Nested(InboundMessageOutSchema),
                           metadata={"description": "newest first, one page (messages_page, messages_page_size)"})
    messages_total = fields.Integer()
    messages_page = fields.Integer()
    messages_page_size = fields.Integer()


class AuditEventSchema(Schema):
    """One audited create, change or delete of an account, contact, project, member or offer."""

    id = fields.UUID()
    entity_type = fields.String()
    entity_id = fields.UUID()
    account_id = fields.UUID(allow_none=True)
    project_id = fields.UUID(allow_none=True)
    action = fields.String(metadata={"enum": ["created", "changed", "deleted", "merged"]})
    old_value = fields.Raw(allow_none=True, metadata={"description": "the changed fields before"})
    new_value = fields.Raw(allow_none=True, metadata={"description": "the changed fields after"})
    actor_user_id = fields.Integer(allow_none=True)
    actor = fields.Function(lambda e: e.actor.username if e.actor else None)
    evidence_refs = fields.List(fields.Raw())
    created_at = UTCDateTime()


class AuditEventListSchema(Schema):
    count = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()
    result = fields.List(fields.Nested(AuditEventSchema))
