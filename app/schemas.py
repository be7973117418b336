"""Request and response schemas of the spec's contract endpoints (also their OpenAPI docs)."""
from __future__ import annotations

from datetime import timezone

from marshmallow import RAISE, Schema, fields, validate

from app.domain.next_step import next_step_state
from app.domain.ranges import RANGES
from app.models.types import utcnow
from app.models.choices import FORECAST_CATEGORIES, OPPORTUNITY_STATUSES, STAGES

class UTCDateTime(fields.DateTime):
    """ISO 8601 with an offset; SQLite's naive values are read as UTC."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return super()._serialize(value, attr, obj, **kwargs)


def in_range(name: str) -> validate.Range:
    """A marshmallow range from the domain's one table of ranges."""
    bounds = RANGES[name]
    return validate.Range(bounds.low, bounds.high, error=bounds.message)


CURRENCY = validate.Regexp(r"^[A-Z]{3}$", error="Must be a three-letter ISO 4217 code, e.g. RUB.")


class OpportunityChangeFields(Schema):
    class Meta:
        unknown = RAISE

    stage = fields.String(validate=validate.OneOf(STAGES))
    status = fields.String(validate=validate.OneOf(OPPORTUNITY_STATUSES),
                           metadata={"description": "follows the stage; a contradicting value is refused"})
    amount_estimate = fields.Decimal(allow_none=True, places=2, validate=in_range("amount_estimate"), as_string=True)
    currency = fields.String(validate=CURRENCY)
    probability = fields.Decimal(allow_none=True, validate=in_range("probability"), as_string=True)
    forecast_category = fields.String(validate=validate.OneOf(FORECAST_CATEGORIES))
    next_step_text = fields.String(allow_none=True, validate=validate.Length(max=2000))
    next_step_due_at = fields.AwareDateTime(allow_none=True, default_timezone=timezone.utc)
    lost_reason = fields.String(allow_none=True, validate=validate.Length(max=2000))
    discount_percent = fields.Decimal(allow_none=True, validate=in_range("discount_percent"), as_string=True)
    close_date_target = fields.Date(allow_none=True)
    owner = fields.Raw(allow_none=True, metadata={"description": "user id, username or 'me'"})
    owner_user_id = fields.Integer(allow_none=True, strict=True)
    source = fields.String(allow_none=True, validate=validate.Length(max=64))
    primary_competitor = fields.String(allow_none=True, validate=validate.Length(max=255))


class OpportunityPatchSchema(OpportunityChangeFields):
    name = fields.String(validate=validate.Length(min=1, max=255))
    evidence_refs = fields.List(fields.Raw(), metadata={"description": "required when stage, amount, discount "
                                                        "or lost_reason change; items as EvidenceRef"})
    version = fields.Integer(strict=True, metadata={"description": "the version you read; a stale one answers 409"})


class OpportunityCreateSchema(OpportunityChangeFields):
    account_id = fields.UUID(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=255))


class NoteSchema(Schema):
    class Meta:
        unknown = RAISE

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
    next_step_state = fields.Function(lambda o: next_step_state(o.next_step_due_at, utcnow(), o.status),
                                      metadata={"description": "the server's verdict: none, overdue, today, "
                                                               "future or closed"})


class OpportunityWriteResultSchema(Schema):
    id = fields.UUID()
    result = fields.Nested(OpportunityOutSchema)
    events = fields.List(fields.Nested(EventSchema))


class ErrorSchema(Schema):
    message = fields.Raw(metadata={"description": "{field: [why]} or a text"})


class OpportunityListSchema(Schema):
    count = fields.Integer()
    ids = fields.List(fields.UUID())
    result = fields.List(fields.Nested(OpportunityOutSchema))
    page = fields.Integer()
    page_size = fields.Integer()
