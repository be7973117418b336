"""Turn database refusals into field-level domain errors (never SQL text to a user)."""
from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from app.domain.errors import ConflictError, DomainError, N_, RuleViolation

# constraint name -> (field, message, is a uniqueness conflict)
CONSTRAINTS = {
    "uq_accounts_domain_lower": ("domain", N_("An account with this domain already exists."), True),
    "uq_contacts_email_lower": ("email", N_("A contact with this e-mail already exists."), True),
    "ck_accounts_icp_fit_score": ("icp_fit_score", N_("Must be between 0 and 100."), False),
    "ck_contacts_influence_score": ("influence_score", N_("Must be between 0 and 100."), False),
    "ck_accounts_segment": ("segment", N_("Not a valid choice."), False),
    "ck_accounts_status": ("status", N_("Not a valid choice."), False),
    "ck_opportunities_stage": ("stage", N_("Not a valid choice."), False),
    "ck_opportunities_status": ("status", N_("Not a valid choice."), False),
    "ck_opportunities_forecast_category": ("forecast_category", N_("Not a valid choice."), False),
    "ck_opportunities_probability": ("probability", N_("Must be between 0 and 1."), False),
    "ck_opportunities_amount": ("amount_estimate", N_("Must not be negative."), False),
    "ck_opportunities_discount": ("discount_percent", N_("Must be between 0 and 100."), False),
    "ck_opportunities_currency": ("currency", N_("Must be a three-letter ISO 4217 code."), False),
    "ck_projects_status": ("status", N_("Not a valid choice."), False),
    "ck_projects_dates": ("end_date", N_("Must not be before the start date."), False),
    "ck_offers_status": ("status", N_("Not a valid choice."), False),
    "ck_offers_amount": ("amount", N_("Must not be negative."), False),
    "ck_offers_discount": ("discount_percent", N_("Must be between 0 and 100."), False),
    "uq_project_members_project_user": ("user", N_("This user is already a member."), True),
}


def _constraint_name(exc: IntegrityError) -> str | None:
    diag = getattr(exc.orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    if name:
        return name
    text = str(exc.orig)
    return next((known for known in CONSTRAINTS if known in text), None)


def integrity_error(exc: IntegrityError) -> DomainError:
    """The field error a database refusal means for the user."""
    name = _constraint_name(exc)
    if name in CONSTRAINTS:
        field, message, conflict = CONSTRAINTS[name]
        return (ConflictError if conflict else RuleViolation)({field: [message]})
    text = str(exc.orig).lower()
    if "not null" in text or "not-null" in text:
        return RuleViolation({"_schema": [N_("A required field is missing.")]})
    if "foreign key" in text:
        return RuleViolation({"_schema": [N_("A referenced record does not exist or is still in use.")]})
    return ConflictError({"_schema": [N_("The change conflicts with existing data.")]})
