"""The deal's editable fields are listed once (app/domain/fields.py); the API, the CLI and the
generated form take theirs from it, so a new field cannot reach one entry point and miss another."""
from app.domain.fields import EDITABLE_FIELDS
from app.schemas import OpportunityCreateSchema, OpportunityPatchSchema

ALIASES = {"owner"}  # owner given as id, username or "me"


def test_the_create_schema_accepts_exactly_the_editable_fields():
    assert set(OpportunityCreateSchema().fields) == set(EDITABLE_FIELDS) | ALIASES | {"evidence_refs"}


def test_the_patch_schema_and_the_cli_accept_the_editable_fields_but_the_account():
    assert set(OpportunityPatchSchema().fields) == (set(EDITABLE_FIELDS) - {"account_id"}) | ALIASES | {
        "evidence_refs", "version"}


def test_the_generated_form_edits_every_editable_field_but_the_status_that_follows_the_stage():
    from app.views.opportunity import EDITABLE

    assert EDITABLE == [{"account_id": "account", "owner_user_id": "owner", "project_id": "project"}.get(f, f)
                        for f in EDITABLE_FIELDS if f != "status"]
