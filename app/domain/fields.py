"""The fields of a deal, listed once: what people and scripts may set, what only verbs set, what
the audit tracks. The API schema, the generated form and the CLI derive their lists from here."""
from __future__ import annotations

EDITABLE_FIELDS = (
    "account_id", "project_id", "name", "stage", "amount_estimate", "currency", "probability", "forecast_category",
    "close_date_target", "source", "primary_competitor", "owner_user_id", "next_step_text",
    "next_step_due_at", "status", "lost_reason", "discount_percent",
)
# Set through the verbs (accepting or withdrawing a proposal), never by a generic form or API field.
SYSTEM_FIELDS = ("proposed", "withdrawn_at")
# What a proposal that nobody accepted yet may not change: it is not a deal in the funnel.
PROPOSAL_LOCKED_FIELDS = ("stage", "status", "amount_estimate", "currency", "owner_user_id", "probability",
                          "forecast_category", "lost_reason", "discount_percent")
# Every change of these is an audit event.
TRACKED_FIELDS = EDITABLE_FIELDS + SYSTEM_FIELDS
# The stage clock, kept by the stage rules.
CLOCK_FIELDS = ("stage_entered_at", "closed_at")
