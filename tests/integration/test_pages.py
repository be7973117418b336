"""Board, accounts list, account page and opportunity page: right numbers, constant SQL statements."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.extensions import db
from tests.conftest import count_statements
from app.models import Account, Offer, Opportunity, OpportunityEvent, Project
from tests.helpers import add_member, change_context

NOTE = [{"type": "note", "text": "moved"}]


def fill(app, users, n, start=0):
    """n accounts, each with a lead (100 000), a qualified deal (50 000) and an active project."""
    due = datetime.now(timezone.utc) + timedelta(days=3)
    with app.app_context(), change_context(actor_id=users["Sales"], evidence_refs=NOTE):  # deals created past lead
        for i in range(start, start + n):
            account = Account(name=f"Account {i:03}", domain=f"a{i}.ru", owner_user_id=users["Sales"])
            db.session.add_all([
                Opportunity(account=account, name=f"Lead {i}", owner_user_id=users["Sales"], amount_estimate=100000),
                Opportunity(account=account, name=f"Qualified {i}", owner_user_id=users["Sales"], stage="qualified",
                            amount_estimate=50000, next_step_text="Call", next_step_due_at=due),
                Project(account=account, name=f"Project {i}", status="active"),
            ])
        db.session.commit()
        return db.session.scalar(select(Account.id).order_by(Account.name)), \
            db.session.scalar(select(Opportunity.id).order_by(Opportunity.name))


def test_board_columns_aggregate_the_whole_column_and_show_25_cards(app, client, as_role, clean_db, users):
    fill(app, users, 30)
    as_role("Sales")
    page = client.get("/board/").get_data(as_text=True)
    lead_column = page.split('data-stage="lead"', 1)[1].split('<section', 1)[0]
    assert '<span class="badge column-count">30</span>' in lead_column
    assert "3,000,000" in lead_column and "150,000" in lead_column  # sum and weighted (5 %)
    assert lead_column.count('data-opportunity-id=') == 25
    more = client.get("/board/column/lead?owner=me&offset=25").get_data(as_text=True)
    assert more.count('data-opportunity-id=') == 5


@pytest.mark.parametrize("url_of", [
    lambda acc, opp: "/board/?owner=all", lambda acc, opp: "/accounts/",
    lambda acc, opp: f"/accounts/{acc}", lambda acc, opp: f"/opportunities/{opp}",
])
def test_pages_issue_the_same_number_of_statements_for_5_and_40_accounts(app, client, as_role, clean_db, users, url_of):
    as_role("Owner")
    acc, opp = fill(app, users, 5)
    small = count_statements(app, client, url_of(acc, opp))
    fill(app, users, 35, start=5)
    with app.app_context(), change_context(actor_id=users["Sales"], evidence_refs=NOTE):
        for o in db.session.scalars(select(Opportunity).where(Opportunity.account_id == acc)):
            o.amount_estimate = Decimal("70000")
        db.session.commit()
    large = count_statements(app, client, url_of(acc, opp))
    assert small == large, (small, large)
    if "board" in url_of(acc, opp):
        assert large <= 10


def test_accounts_list_columns(app, client, as_role, clean_db, users):
    fill(app, users, 2)
    with app.app_context(), change_context(actor_id=users["Sales"], evidence_refs=NOTE):
        late = db.session.scalars(select(Opportunity).where(Opportunity.name == "Qualified 0")).one()
        late.next_step_due_at = datetime.now(timezone.utc) - timedelta(days=1)
        db.session.commit()
    as_role("Owner")
    html = client.get("/accounts/?q=account 000").get_data(as_text=True)
    row = html.split('data-account-id=', 1)[1].split("</tr>", 1)[0]
    assert "Account 000" in row and "a0.ru" in row
    assert "1 overdue" in row and "150,000" in row
    assert 'class="health health-green"' in row  # touched now, one overdue: 100 - 15 + 10
    assert "Account 001" not in html


def test_proposed_opportunities_wait_apart_until_accepted(app, client, as_role, clean_db, users):
    with app.app_context(), change_context(actor_id=users["Sales"]):
        opp = Opportunity(account=Account(name="Inbound Co"), name="From Telegram", proposed=True,
                          owner_user_id=users["Sales"])
        db.session.add(opp)
        db.session.commit()
        opp_id = opp.id
    as_role("Sales")
    page = client.get("/board/").get_data(as_text=True)
    assert "board-proposed" in page and f'class="board-card panel panel-default" data-opportunity-id="{opp_id}"' not in page
    # Accepting needs the deal's name and amount (issue 11): without an amount it stays a proposal.
    assert client.post(f"/board/accept/{opp_id}", data={"name": "From Telegram", "amount_estimate": ""}).status_code == 302
    with app.app_context():
        assert db.session.get(Opportunity, opp_id).proposed is True
    assert client.post(f"/board/accept/{opp_id}",
                       data={"name": "From Telegram", "amount_estimate": "120 000"}).status_code == 302
    page = client.get("/board/").get_data(as_text=True)
    assert "board-proposed" not in page and f'data-opportunity-id="{opp_id}"' in page
    with app.app_context():
        accepted = db.session.scalars(select(OpportunityEvent).where(OpportunityEvent.event_type == "accepted")).one()
        assert accepted.new_value == {"proposed": False} and accepted.actor_user_id == users["Sales"]
        assert db.session.get(Opportunity, opp_id).amount_estimate == Decimal("120000")


def test_pm_reads_pages_and_adds_notes_but_cannot_move_or_make_offers(app, client, as_role, clean_db, users):
    acc, opp = fill(app, users, 1)
    with app.app_context():  # a PM reads the accounts of the projects they are a member of
        add_member(db.session.scalar(select(Project.id).where(Project.account_id == acc)), users["PM"])
    as_role("PM")
    assert client.get("/board/").status_code == 200
    assert client.get(f"/accounts/{acc}").status_code == 200
    assert client.post(f"/opportunities/{opp}/notes", data={"text": "Client asked about timing"}).status_code == 302
    assert client.post(f"/opportunities/{opp}/offer").status_code == 403
    assert client.post(f"/board/accept/{opp}").status_code == 403
    with app.app_context():
        assert db.session.scalars(select(OpportunityEvent).where(OpportunityEvent.event_type == "note_added")).one()


def test_create_offer_copies_the_deal_and_opens_the_edit_form(app, client, as_role, clean_db, users):
    acc, opp = fill(app, users, 1)
    as_role("Sales")
    response = client.post(f"/opportunities/{opp}/offer")
    assert response.status_code == 302 and "/offerview/edit/" in response.headers["Location"]
    with app.app_context():
        offer = db.session.scalars(select(Offer)).one()
        deal = db.session.get(Opportunity, opp)
        assert (offer.title, offer.amount, offer.status, offer.created_by_user_id) == \
            (deal.name, deal.amount_estimate, "draft", users["Sales"])


def test_quick_actions_on_the_account_page(app, client, as_role, clean_db, users):
    acc, _ = fill(app, users, 1)
    as_role("Sales")
    client.post(f"/accounts/{acc}/contacts", data={"name": "Anna", "email": "Anna@A0.ru", "role_tags": "ЛПР, budget"})
    client.post(f"/accounts/{acc}/contacts", data={"name": "", "email": "x"})
    created = client.post(f"/accounts/{acc}/opportunities", data={"name": "Upsell", "amount_estimate": "250 000,50"})
    assert created.status_code == 302 and "/opportunities/" in created.headers["Location"]
    bad = client.post(f"/accounts/{acc}/opportunities", data={"name": "Bad", "amount_estimate": "lots"}, follow_redirects=True)
    assert "Not a valid amount" in bad.get_data(as_text=True)
    page = client.get(f"/accounts/{acc}").get_data(as_text=True)
    assert "Anna" in page and "ЛПР" in page and "Upsell" in page and "RUB\u00a0250,000.50" in page
    with app.app_context():
        assert db.session.scalar(select(Opportunity.amount_estimate).where(Opportunity.name == "Upsell")) == Decimal("250000.50")


def test_board_filters_by_account_forecast_category_and_search(app, client, as_role, clean_db, users):
    acc, _ = fill(app, users, 3)
    as_role("Owner")

    def shown(query):
        return client.get(f"/board/?owner=all&{query}").get_data(as_text=True).count("data-opportunity-id=")
    assert shown("") == 6
    assert shown(f"account={acc}") == 2
    assert shown("account=Account 001") == 2
    assert shown("forecast_category=pipeline") == 6 and shown("forecast_category=commit") == 0
    assert shown("q=qualified 2") == 1
    as_role("Sales")
    assert client.get("/board/").get_data(as_text=True).count("data-opportunity-id=") == 6  # all Sales' own
