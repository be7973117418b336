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
    "unassigned": _l("Unassigned"), "assigned": _l("Assigned"), "ignored": _l("Ignored"),
    "incoming": _l("Incoming"), "outgoing": _l("Outgoing"), "chatwoot": "Chatwoot", "telegram": "Telegram",
}


def choices(values) -> list[tuple[str, object]]:
    """(value, translated label) pairs for a select."""
    return [(v, CHOICE_LABELS.get(v, v)) for v in values]
