"""Translatable labels shared by views, APIs and templates."""
from flask_babel import lazy_gettext as _l

COLUMN_LABELS = {
    "name": _l("Name"), "domain": _l("Domain"), "industry": _l("Industry"), "segment": _l("Segment"),
    "status": _l("Status"), "owner": _l("Owner"), "owner_user_id": _l("Owner"),
    "icp_fit_score": _l("ICP fit score"), "icp_fit_reason": _l("ICP fit reason"),
    "last_touch_at": _l("Last touch"), "created_at": _l("Created"), "updated_at": _l("Updated"),
    "account": _l("Account"), "email": _l("E-mail"), "phone": _l("Phone"),
    "telegram_handle": _l("Telegram"), "role_tags": _l("Role tags"), "influence_score": _l("Influence"),
    "stage": _l("Stage"), "amount_estimate": _l("Amount"), "currency": _l("Currency"),
    "probability": _l("Probability"), "forecast_category": _l("Forecast category"),
    "close_date_target": _l("Target close date"), "source": _l("Source"),
    "primary_competitor": _l("Primary competitor"), "next_step_text": _l("Next step"),
    "next_step_due_at": _l("Next step due"), "lost_reason": _l("Lost reason"),
    "discount_percent": _l("Discount, %"), "stage_entered_at": _l("In stage since"),
    "closed_at": _l("Closed"), "proposed": _l("Proposed"), "version": _l("Version"),
    "opportunity": _l("Opportunity"), "event_type": _l("Event"), "old_value": _l("Old value"),
    "new_value": _l("New value"), "actor": _l("Who"), "evidence_refs": _l("Evidence"),
    "evidence": _l("Evidence"), "pm": _l("PM"), "start_date": _l("Start"), "end_date": _l("End"),
    "members": _l("Members"), "title": _l("Title"), "amount": _l("Amount"), "created_by": _l("Created by"),
    "user": _l("User"), "role": _l("Role"), "project": _l("Project"),
    "account_id": _l("Account"), "pm_user_id": _l("PM"), "project_id": _l("Project"), "user_id": _l("User"),
    "opportunity_id": _l("Opportunity"), "created_by_user_id": _l("Created by"),
    "withdrawn_at": _l("Withdrawn"), "text": _l("Text"), "changes": _l("Changes"), "record": _l("Record"),
    "contact_id": _l("Contact"),
}

CHOICE_LABELS = {
    "smb": _l("SMB"), "mid": _l("Mid-market"), "enterprise": _l("Enterprise"), "custom": _l("Custom"),
    "active": _l("Active"), "dormant": _l("Dormant"), "churned": _l("Churned"),
    "lead": _l("Lead"), "qualified": _l("Qualified"), "discovery": _l("Discovery"),
    "proposal_sent": _l("Proposal sent"), "negotiation": _l("Negotiation"), "won": _l("Won"),
    "lost": _l("Lost"), "open": _l("Open"),
    "pipeline": _l("Pipeline"), "best_case": _l("Best case"), "commit": _l("Commit"), "omitted": _l("Omitted"),
    "planned": _l("Planned"), "paused": _l("Paused"), "done": _l("Done"), "cancelled": _l("Cancelled"),
    "draft": _l("Draft"), "sent": _l("Sent"), "accepted": _l("Accepted"), "rejected": _l("Rejected"),
    "created": _l("Created"), "stage_changed": _l("Stage changed"), "amount_changed": _l("Amount changed"),
    "probability_changed": _l("Probability changed"), "next_step_changed": _l("Next step changed"),
    "discount_changed": _l("Discount changed"), "field_changed": _l("Field changed"),
    "note_added": _l("Note"), "reopened": _l("Reopened"), "withdrawn": _l("Withdrawn"),
    "entity_account": _l("Account"), "entity_contact": _l("Contact"), "entity_project": _l("Project"),
    "entity_project_member": _l("Project member"), "entity_offer": _l("Offer"),
    "action_created": _l("created"), "action_changed": _l("changed"), "action_deleted": _l("deleted"),
    "action_merged": _l("merged"),
    "unassigned": _l("Unassigned"), "assigned": _l("Assigned"), "ignored": _l("Ignored"),
    "incoming": _l("Incoming"), "outgoing": _l("Outgoing"), "chatwoot": "Chatwoot", "telegram": "Telegram",
    # deal sources (free text: these are the ones the app and the demo write)
    "referral": _l("Referral"), "website": _l("Website"), "event": _l("Industry event"), "email": _l("E-mail"),
    "phone": _l("Phone"), "partner": _l("Partner"), "other": _l("Other"),
    # contacts' role tags (free text: the usual ones)
    "decision maker": _l("Decision maker"), "budget": _l("Budget"), "champion": _l("Champion"), "user": _l("User"),
    "procurement": _l("Procurement"), "marketing": _l("Marketing"), "technical": _l("Technical"),
    # roles in a project (free text: the ones the project page suggests)
    "pm": _l("PM"), "designer": _l("Designer"), "lead designer": _l("Lead designer"), "developer": _l("Developer"),
    "sales": _l("Sales"), "manager": _l("Manager"),
}

# Flask-AppBuilder's own strings that its Russian catalogue lacks: translated in ours (loaded after
# FAB's, so ours wins), listed here so that re-extracting the catalogue keeps them.
FAB_STRINGS = (
    _l("Select Value"), _l("Add"), _l("Show"), _l("Delete"), _l("Detail"), _l("Order by"),
    _l("Are you sure you want to delete this item?"), _l("Groups"), _l("Add Group"),
    _l("Edit Group"), _l("Show Group"), _l("Either select a role or a group"),
    _l("User(s) exists in the group, cannot delete"), _l("User(s) exists in the role, cannot delete"),
    _l("Edit User Information"), _l("User information changed"), _l("The user's password for authentication"),
    _l("Contains (insensitive)"), _l("In"), _l("Not In"), _l("Database Error"), _l("Sign In with "),
    _l("Sign in using:"),
    _l("Must have at least two capital letters, one special character, two digits, three lower case letters "
       "and a minimal length of 10."),
    _l("User confirmation needed"),  # FAB's Russian for it reads badly
)


def choices(values) -> list[tuple[str, object]]:
    """(value, translated label) pairs for a select."""
    return [(v, CHOICE_LABELS.get(v, v)) for v in values]


# Why two accounts (or two contacts) look like one: the detection's reason codes in words
# (app.domain.duplicates.REASONS and CONTACT_REASONS).
ACCOUNT_REASON_LABELS = {
    "domain": _l("Same domain"), "name": _l("Same name"), "similar_name": _l("Similar name"),
    "contact_email": _l("Shared contact e-mail"), "contact_phone": _l("Shared contact phone"),
}
CONTACT_REASON_LABELS = {
    "email": _l("Same e-mail"), "phone": _l("Same phone"), "telegram": _l("Same Telegram"),
    "name": _l("Same contact name"),
}


def reason_label(code: str, kind: str = "account") -> str:
    """A reason code of a duplicate pair in words (an unknown code stays readable, never raw)."""
    labels = CONTACT_REASON_LABELS if kind == "contact" else ACCOUNT_REASON_LABELS
    label = labels.get(code)
    return str(label) if label is not None else code.replace("_", " ").capitalize()
