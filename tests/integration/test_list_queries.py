"""Generated list pages issue the same number of SQL statements for 5 rows and for 50."""
import pytest

from app.extensions import db
from tests.conftest import count_statements
from app.models import Account, Contact, Opportunity, Project
from tests.helpers import change_context


def _fill(app, users, n, start=0):
    with app.app_context(), change_context(actor_id=users["Admin"]):
        for i in range(start, start + n):
            account = Account(name=f"Acc {i}", domain=f"acc{i}.ru", owner_user_id=users["Sales"])
            db.session.add(account)
            db.session.add(Contact(account=account, name=f"Person {i}", role_tags=["a"]))
            db.session.add(Opportunity(account=account, name=f"Deal {i}", owner_user_id=users["Sales"]))
            db.session.add(Project(account=account, name=f"Project {i}", pm_user_id=users["PM"]))
        db.session.commit()


@pytest.mark.parametrize("url", ["/accountview/list/?psize_AccountView=50", "/contactview/list/?psize_ContactView=50",
                                 "/opportunityview/list/?psize_OpportunityView=50", "/projectview/list/?psize_ProjectView=50",
                                 "/opportunityeventview/list/?psize_OpportunityEventView=50"])
def test_list_page_statement_count_does_not_grow_with_rows(app, client, as_role, clean_db, users, url):
    as_role("Admin")
    _fill(app, users, 5)
    small = count_statements(app, client, url)
    _fill(app, users, 45, start=5)
    large = count_statements(app, client, url)
    assert small == large, (small, large)
