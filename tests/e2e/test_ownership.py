"""Ownership: whatever creates a deal or an account makes the acting user its owner; Sales write
only what they own or what has no owner (taking it), and cannot close or hand over another's deal
through any path (API, generated form, board move, quick actions, CLI) — nothing is written."""
import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Account, AuditEvent, Opportunity, OpportunityEvent
from app.services.opportunities import create_opportunity
from app.services.records import save_record
from tests.helpers import request_as

NOTE = [{"type": "note", "text": "Client confirmed on the call"}]


def _rows(app):
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(OpportunityEvent)),
                db.session.scalar(select(func.count()).select_from(AuditEvent)))


@pytest.fixture()
def world(app, clean_db, users):
    """An account and a deal of the Owner user, an unowned deal, and a Sales user's own deal."""
    with app.app_context():
        account = save_record(request_as(users["Owner"]), Account(name="Точка роста", domain="tochka.ru"))
        theirs, _ = create_opportunity(request_as(users["Owner"], {"account_id": account.id, "name": "Их сделка"}))
        unowned, _ = create_opportunity(request_as(users["Admin"], {"account_id": account.id, "name": "Ничья"}))
        from app.services.opportunities import update_opportunity
        update_opportunity(request_as(users["Admin"], {"owner_user_id": None}), unowned.id)  # a manager may
        mine, _ = create_opportunity(request_as(users["Sales"], {"account_id": account.id, "name": "Моя"}))
        return {"account": account.id, "account_owner": account.owner_user_id, "theirs": theirs.id,
                "unowned": unowned.id, "mine": mine.id}


def _deal(app, pk):
    with app.app_context():
        return db.session.get(Opportunity, pk)


# --- creation: the creator owns it --------------------------------------------------------------

def test_api_creations_without_an_owner_belong_to_the_creator(app, client, api, clean_db, users):
    h = api("Sales")
    account = client.post("/api/v1/accounts/", json={"name": "Acme"}, headers=h)
    assert account.status_code == 201 and account.get_json()["result"]["owner_user_id"] == users["Sales"]
    deal = client.post("/api/v1/opportunities/", json={"account_id": account.get_json()["id"], "name": "Site"}, headers=h)
    assert deal.status_code == 201 and deal.get_json()["result"]["owner_user_id"] == users["Sales"]
    mine = client.get("/api/v1/opportunities/?owner=me", headers=h).get_json()
    assert mine["ids"] == [deal.get_json()["id"]]


def test_the_generated_add_form_offers_the_creator_as_owner(client, as_role, clean_db, users):
    as_role("Sales")
    html = client.get("/opportunityview/add").get_data(as_text=True)
    assert f'<option selected value="{users["Sales"]}">' in html or f'value="{users["Sales"]}" selected' in html


def test_quick_action_and_cli_free_paths_give_the_creator(app, client, as_role, world, users):
    as_role("Sales")
    response = client.post(f"/accounts/{world['account']}/opportunities", data={"name": "Быстрая", "amount_estimate": "1 000"})
    assert response.status_code == 302
    with app.app_context():
        quick = db.session.scalars(select(Opportunity).where(Opportunity.name == "Быстрая")).one()
        assert quick.owner_user_id == users["Sales"]


# --- Sales and another's deal: refused everywhere, nothing written -------------------------------

@pytest.mark.parametrize("body", [
    {"stage": "lost", "lost_reason": "price", "evidence_refs": NOTE},  # close it
    {"owner": "sales"},  # take it
    {"next_step_text": "Call"},  # any change at all
], ids=["close", "reassign", "edit"])
def test_sales_cannot_change_anothers_deal_through_the_api(app, client, api, world, body):
    before = _rows(app)
    response = client.patch(f"/api/v1/opportunities/{world['theirs']}", json=body, headers=api("Sales"))
    assert response.status_code == 403
    assert "owner_user_id" in response.get_json()["message"]
    assert _rows(app) == before
    deal = _deal(app, world["theirs"])
    assert deal.stage == "lead" and deal.owner_user_id == world["account_owner"]


def test_sales_cannot_hand_their_deal_to_someone_else(app, client, api, world, users):
    response = client.patch(f"/api/v1/opportunities/{world['mine']}", json={"owner": "owner"}, headers=api("Sales"))
    assert response.status_code == 403
    assert _deal(app, world["mine"]).owner_user_id == users["Sales"]


def test_board_move_of_anothers_deal_is_refused_with_a_message(app, client, as_role, world):
    """The board's move dialog sends the browser's PATCH with the session cookie."""
    as_role("Sales", "ru")
    before = _rows(app)
    response = client.patch(f"/api/v1/opportunities/{world['theirs']}", json={
        "stage": "won", "evidence_refs": NOTE}, headers={"Accept": "application/json"})
    assert response.status_code == 403
    assert "владелец" in " ".join(response.get_json()["message"]["owner_user_id"])
    assert _rows(app) == before


def test_generated_edit_form_of_anothers_deal_is_not_offered_and_a_post_is_refused(app, client, as_role, world, users):
    as_role("Sales")
    page = client.get(f"/opportunityview/edit/{world['theirs']}", follow_redirects=True)
    assert page.status_code == 200
    assert "only its owner, an Owner or an Admin may change it" in page.get_data(as_text=True)
    before = _rows(app)
    response = client.post(f"/opportunityview/edit/{world['theirs']}", data={
        "account": str(world["account"]), "name": "Их сделка", "stage": "won", "currency": "RUB",
        "owner": str(users["Sales"]), "forecast_category": "pipeline", "evidence": "won on the call",
        "expected_version": "1"}, follow_redirects=True)
    assert "only its owner, an Owner or an Admin may change it" in response.get_data(as_text=True)
    assert _rows(app) == before and _deal(app, world["theirs"]).stage == "lead"


def test_sales_cannot_edit_anothers_account(app, client, api, world):
    response = client.put(f"/api/v1/accounts/{world['account']}", json={"name": "Чужой"}, headers=api("Sales"))
    assert response.status_code == 403
    with app.app_context():
        assert db.session.get(Account, world["account"]).name == "Точка роста"


def test_cli_as_sales_on_anothers_deal_exits_non_zero_and_writes_nothing(app, world):
    before = _rows(app)
    result = app.test_cli_runner().invoke(args=["crm", "opportunity-update", str(world["theirs"]),
                                                "--set", "stage=lost", "--set", "lost_reason=price",
                                                "--evidence-note", "call", "--as", "sales"])
    assert result.exit_code != 0 and "owner" in result.output
    assert _rows(app) == before


# --- what Sales may do ----------------------------------------------------------------------------

def test_writing_an_unowned_deal_takes_it(app, client, api, world, users):
    response = client.patch(f"/api/v1/opportunities/{world['unowned']}", json={"next_step_text": "Позвонить"},
                            headers=api("Sales"))
    assert response.status_code == 200, response.get_json()
    assert _deal(app, world["unowned"]).owner_user_id == users["Sales"]


def test_sales_still_add_notes_to_anothers_deal(client, api, world):
    response = client.post(f"/api/v1/opportunities/{world['theirs']}/notes", json={"text": "Видел их на выставке"},
                           headers=api("Sales"))
    assert response.status_code == 201


def test_owner_and_admin_write_everything_and_may_leave_a_deal_ownerless(app, client, api, world):
    for role in ("Owner", "Admin"):
        response = client.patch(f"/api/v1/opportunities/{world['mine']}", json={"owner": None}, headers=api(role))
        assert response.status_code == 200, response.get_json()
    assert _deal(app, world["mine"]).owner_user_id is None


# --- screens show only what the user may do -------------------------------------------------------

def test_the_deal_page_offers_sales_no_controls_on_anothers_deal(client, as_role, world):
    as_role("Sales")
    theirs = client.get(f"/opportunities/{world['theirs']}").get_data(as_text=True)
    assert 'id="opp-move"' not in theirs and 'data-stage="won"' not in theirs
    assert "/opportunityview/edit/" not in theirs
    mine = client.get(f"/opportunities/{world['mine']}").get_data(as_text=True)
    assert 'id="opp-move"' in mine and "/opportunityview/edit/" in mine


def test_the_board_locks_the_cards_a_user_may_not_move(client, as_role, world):
    as_role("Sales")
    html = client.get("/board/?owner=all").get_data(as_text=True)
    theirs = html.split(f'data-opportunity-id="{world["theirs"]}"')[0].rsplit("<div", 1)[1]
    mine = html.split(f'data-opportunity-id="{world["mine"]}"')[0].rsplit("<div", 1)[1]
    assert "is-locked" in theirs and "is-locked" not in mine
    assert html.count('class="move-menu') == 2  # their own deal and the unowned one


def test_pm_lands_on_the_board_of_their_projects_with_no_controls(app, client, as_role, world, users):
    from tests.helpers import add_project

    with app.app_context():
        project_id = add_project(world["account"], pm_user_id=users["PM"], members=[users["Owner"]])
        from app.services.opportunities import update_opportunity
        update_opportunity(request_as(users["Owner"], {"project_id": project_id}), world["theirs"])
    as_role("PM")
    landing = client.get("/", follow_redirects=True)
    html = landing.get_data(as_text=True)
    assert "/board/" in landing.request.path
    assert "Их сделка" in html  # the deal of their project, not an empty "mine" board
    assert "move-menu" not in html and "is-locked" in html
    page = client.get(f"/opportunities/{world['theirs']}").get_data(as_text=True)
    assert 'id="opp-move"' not in page and "Create offer" not in page and "/opportunityview/edit/" not in page
