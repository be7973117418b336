"""The project page and the project filters of the board and the dashboard: members, PM and Owner
see the project's deals, threads and notes; non-members get 404; the project's PM (and Owner,
Admin) manage its members, audited; the board and the dashboard narrow to one project."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.inbound import chatwoot
from app.models import Account, AuditEvent, InboundThread, Opportunity, Project, ProjectMember, ProjectNote
from app.services import opportunities, records, triage
from app.services.context import SYSTEM, ChangeRequest
from app.services.inbound import ingest
from tests.conftest import PASSWORD, count_statements
from tests.helpers import change_context, request_as
from tests.inbound_payloads import cw_message

OTHER_PM = "pm2"


@pytest.fixture()
def other_pm(app, users):
    """A second user with the PM role (a PM of no project here, or a plain member)."""
    with app.app_context():
        sm = app.appbuilder.sm
        user = sm.find_user(username=OTHER_PM) or sm.add_user(
            username=OTHER_PM, first_name="Petr", last_name="Second", email="pm2@studio.test",
            role=sm.find_role("PM"), password=PASSWORD)
        return user.id


def login_as(client, username: str, lang: str = "en"):
    client.get("/logout/")
    assert client.post("/login/", data={"username": username, "password": PASSWORD}).status_code in (302, 200)
    client.get(f"/lang/{lang}")


@pytest.fixture()
def project(app, clean_db, users):
    """Account "Zerno" with a project (PM: the PM user, a member by that), a deal inside it, a
    deal outside any project, a thread assigned to the project and a note on it."""
    with app.app_context():
        with change_context(actor_id=users["Owner"]):
            account = Account(name="Zerno", domain="zerno.ru", owner_user_id=users["Sales"])
            db.session.add(account)
            db.session.commit()
            account_id = account.id
        site = records.save_record(request_as(users["Owner"]), Project(account_id=account_id, name="Site redesign",
                                                                       status="active", pm_user_id=users["PM"]))
        project_id = site.id
        inside, _ = opportunities.create_opportunity(request_as(users["Owner"], {
            "account_id": account_id, "project_id": project_id, "name": "Change request: menu",
            "amount_estimate": 120000, "owner_user_id": users["PM"]}))
        outside, _ = opportunities.create_opportunity(request_as(users["Owner"], {
            "account_id": account_id, "name": "New brand book", "amount_estimate": 300000,
            "owner_user_id": users["Sales"]}))
        ingest(ChangeRequest(SYSTEM), chatwoot.parse_webhook(cw_message(content="Menu photos attached")))
        thread_id = db.session.scalars(select(InboundThread.id)).one()
        triage.assign_thread(request_as(users["Owner"]), thread_id, account_id, project_id)
        records.add_project_note(request_as(users["PM"], {"text": "Kick-off on Monday"}), project_id)
        return {"account": account_id, "project": project_id, "inside": inside.id, "outside": outside.id,
                "thread": thread_id}


def page(client, project_id):
    return client.get(f"/projects/{project_id}")


def member_rows(app, project_id) -> dict[int, str | None]:
    with app.app_context():
        return {m.user_id: m.role for m in db.session.scalars(
            select(ProjectMember).where(ProjectMember.project_id == project_id))}


def member_audit(app, project_id) -> list[AuditEvent]:
    with app.app_context():
        return db.session.scalars(select(AuditEvent).where(
            AuditEvent.entity_type == "project_member", AuditEvent.project_id == project_id)
            .order_by(AuditEvent.created_at)).all()


@pytest.mark.parametrize("role", ["PM", "Owner", "Admin"])
def test_members_and_owner_see_the_whole_project(client, as_role, project, role):
    as_role(role)
    response = page(client, project["project"])
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Site redesign" in html and "Zerno" in html and f'/accounts/{project["account"]}' in html
    assert f'data-opportunity-id="{project["inside"]}"' in html and f'/opportunities/{project["inside"]}' in html
    assert f'data-opportunity-id="{project["outside"]}"' not in html  # outside the project
    assert f'data-thread-id="{project["thread"]}"' in html
    assert "Kick-off on Monday" in html
    members = html.split('class="table table-condensed members-table"', 1)[1].split("</table>", 1)[0]
    assert "PM User" in members and "pm" in members  # the project's PM, a member with their role


@pytest.mark.parametrize("who", ["Sales", OTHER_PM])
def test_non_members_get_404_and_no_trace(client, as_role, project, other_pm, who):
    if who == OTHER_PM:
        login_as(client, OTHER_PM)
    else:
        as_role(who)
    assert page(client, project["project"]).status_code == 404
    assert client.post(f"/projects/{project['project']}/notes", data={"text": "peek"}).status_code in (403, 404)
    assert client.get("/projects/00000000-0000-0000-0000-000000000000").status_code == 404


def test_the_projects_pm_adds_and_removes_a_member_audited(app, client, as_role, project, users):
    as_role("PM")
    html = page(client, project["project"]).get_data(as_text=True)
    assert "Add member" in html and 'name="user_id"' in html
    response = client.post(f"/projects/{project['project']}/members", data={"user_id": users["Sales"], "role": "sales"},
                           follow_redirects=True)
    assert "Member added." in response.get_data(as_text=True)
    assert member_rows(app, project["project"]) == {users["PM"]: "pm", users["Sales"]: "sales"}
    created = member_audit(app, project["project"])[-1]
    assert (created.action, created.actor_user_id, created.new_value["user_id"]) == ("created", users["PM"], users["Sales"])
    html = page(client, project["project"]).get_data(as_text=True)
    timeline = html.split('class="timeline"', 1)[1].split("</ul>", 1)[0]
    assert re.search(r"Member added:</strong>\s*Sales User \(sales\)", timeline)  # the timeline names the member
    total = int(re.search(r"Timeline <small>(\d+)</small>", html).group(1))
    assert total == timeline.count("<li class=")  # every row counted is shown to the PM (one page)
    member_id = re.search(rf'data-member-id="([0-9a-f-]+)" data-user-id="{users["Sales"]}"', html).group(1)

    response = client.post(f"/projects/{project['project']}/members/{member_id}/remove", follow_redirects=True)
    assert "Member removed." in response.get_data(as_text=True)
    assert member_rows(app, project["project"]) == {users["PM"]: "pm"}
    deleted = member_audit(app, project["project"])[-1]
    assert (deleted.action, deleted.actor_user_id, deleted.old_value["user_id"]) == ("deleted", users["PM"], users["Sales"])


def test_the_sales_member_sees_the_project_after_being_added(app, client, as_role, project, users):
    as_role("Sales")
    assert page(client, project["project"]).status_code == 404
    as_role("Owner")
    client.post(f"/projects/{project['project']}/members", data={"user_id": users["Sales"], "role": "sales"})
    as_role("Sales")
    html = page(client, project["project"]).get_data(as_text=True)
    assert "Change request: menu" in html and "Kick-off on Monday" in html
    assert "Add member" not in html  # a member, not the PM: no member management


def test_a_member_who_is_not_the_projects_pm_cannot_manage_members(app, client, project, users, other_pm):
    with app.app_context():
        records.save_record(request_as(users["Owner"]), ProjectMember(project_id=project["project"], user_id=other_pm,
                                                                      role="designer"))
    before_members, before_audit = member_rows(app, project["project"]), len(member_audit(app, project["project"]))
    login_as(client, OTHER_PM)
    html = page(client, project["project"]).get_data(as_text=True)
    assert "Site redesign" in html and "Add member" not in html and "remove-member" not in html
    response = client.post(f"/projects/{project['project']}/members", data={"user_id": users["Sales"], "role": "x"},
                           follow_redirects=True)
    assert response.status_code == 200
    assert "Only the project&#39;s PM, an Owner or an Admin manages its members." in response.get_data(as_text=True)
    with app.app_context():
        pm_member = db.session.scalars(select(ProjectMember.id).where(
            ProjectMember.project_id == project["project"], ProjectMember.user_id == users["PM"])).one()
    response = client.post(f"/projects/{project['project']}/members/{pm_member}/remove", follow_redirects=True)
    assert response.status_code == 200 and "alert-danger" in response.get_data(as_text=True)
    assert member_rows(app, project["project"]) == before_members
    assert len(member_audit(app, project["project"])) == before_audit


def test_the_pm_stays_a_member(app, client, as_role, project, users):
    as_role("Owner")
    with app.app_context():
        pm_member = db.session.scalars(select(ProjectMember.id).where(
            ProjectMember.project_id == project["project"], ProjectMember.user_id == users["PM"])).one()
    response = client.post(f"/projects/{project['project']}/members/{pm_member}/remove", follow_redirects=True)
    assert "always a member" in response.get_data(as_text=True)
    assert users["PM"] in member_rows(app, project["project"])


def test_adding_a_member_twice_is_a_message(app, client, as_role, project, users):
    as_role("Owner")
    response = client.post(f"/projects/{project['project']}/members", data={"user_id": users["PM"], "role": "pm"},
                           follow_redirects=True)
    assert "This user is already a member." in response.get_data(as_text=True)


def test_adding_a_note_shows_it_on_the_page_and_in_the_timeline(app, client, as_role, project, users):
    as_role("PM")
    response = client.post(f"/projects/{project['project']}/notes", data={"text": "Fonts approved by the client"},
                           follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Note added." in html
    assert "Fonts approved by the client" in html.split('class="list-unstyled notes-list"', 1)[1].split("</ul>", 1)[0]
    assert "Fonts approved by the client" in html.split('class="timeline"', 1)[1]
    with app.app_context():
        note = db.session.scalars(select(ProjectNote).where(ProjectNote.text == "Fonts approved by the client")).one()
        assert note.author_user_id == users["PM"]
    blank = client.post(f"/projects/{project['project']}/notes", data={"text": "  "}, follow_redirects=True)
    assert "A note must not be blank." in blank.get_data(as_text=True)


def test_the_timeline_holds_the_projects_records_deal_events_and_notes(client, as_role, project):
    as_role("Owner")
    html = page(client, project["project"]).get_data(as_text=True)
    timeline = html.split('class="timeline"', 1)[1].split("</ul>", 1)[0]
    assert 'class="kind-record"' in timeline  # the project created, its PM added
    assert 'class="kind-event"' in timeline and "Change request: menu" in timeline
    assert 'class="kind-note"' in timeline and "Kick-off on Monday" in timeline
    assert 'class="kind-message"' in timeline and "Menu photos attached" in timeline
    assert "New brand book" not in timeline


def test_account_record_and_deal_pages_link_the_project_page(client, as_role, project):
    as_role("Owner")
    html = client.get(f"/accounts/{project['account']}").get_data(as_text=True)
    assert f'/projects/{project["project"]}' in html
    html = client.get(f"/projectview/show/{project['project']}").get_data(as_text=True)
    assert f'/projects/{project["project"]}' in html
    html = client.get(f"/opportunities/{project['inside']}").get_data(as_text=True)
    assert f'class="opp-project" href="/projects/{project["project"]}"' in html


def column_count(html: str, stage: str) -> int:
    column = html.split(f'data-stage="{stage}" aria-label', 1)[1].split("<section", 1)[0]
    return int(re.search(r'<span class="badge column-count">(\d+)</span>', column).group(1))


def test_board_project_filter(client, as_role, project):
    as_role("Owner")
    everything = client.get("/board/?owner=all").get_data(as_text=True)
    assert column_count(everything, "lead") == 2
    assert 'name="project"' in everything and "Site redesign — Zerno" in everything
    inside = client.get(f"/board/?owner=all&project={project['project']}").get_data(as_text=True)
    assert column_count(inside, "lead") == 1 and "Change request: menu" in inside and "New brand book" not in inside
    outside = client.get("/board/?owner=all&project=none").get_data(as_text=True)
    assert column_count(outside, "lead") == 1 and "New brand book" in outside and "Change request: menu" not in outside
    summary = client.get(f"/board/summary?owner=all&project={project['project']}").get_json()
    assert summary["lead"]["count"] == 1 and summary["lead"]["amount"] == "RUB\u00a0120,000"


def test_the_board_offers_only_visible_projects(client, as_role, project):
    as_role("Sales")
    html = client.get("/board/?owner=all").get_data(as_text=True)
    assert "Site redesign" not in html and "Change request: menu" not in html
    # asking for the unseen project shows nothing of it
    html = client.get(f"/board/?owner=all&project={project['project']}").get_data(as_text=True)
    assert column_count(html, "lead") == 0


def pipeline_count(html: str, stage: str) -> int:
    row = html.split(f'<tr data-stage="{stage}">', 1)[1].split("</tr>", 1)[0]
    return int(re.search(r'<td class="count">(\d+)</td>', row).group(1))


def test_dashboard_project_filter(client, as_role, project):
    as_role("Owner")
    assert pipeline_count(client.get("/dashboard/").get_data(as_text=True), "lead") == 2
    inside = client.get(f"/dashboard/?project={project['project']}").get_data(as_text=True)
    assert pipeline_count(inside, "lead") == 1 and "Site redesign — Zerno" in inside
    assert pipeline_count(client.get("/dashboard/?project=none").get_data(as_text=True), "lead") == 1
    assert client.get(f"/stall/?project={project['project']}").status_code == 200


def test_filters_keep_the_statement_count(app, client, as_role, project):
    as_role("Owner")
    for url in ("/board/?owner=all", "/dashboard/"):
        plain = count_statements(app, client, url)
        assert count_statements(app, client, url + ("&" if "?" in url else "?") + f"project={project['project']}") == plain
        assert count_statements(app, client, url + ("&" if "?" in url else "?") + "project=none") == plain


def test_project_page_statements_do_not_grow(app, client, as_role, project, users):
    as_role("Owner")
    url = f"/projects/{project['project']}"
    small = count_statements(app, client, url)
    with app.app_context():
        for i in range(5):
            opportunities.create_opportunity(request_as(users["Owner"], {
                "account_id": project["account"], "project_id": project["project"], "name": f"Extra {i}",
                "owner_user_id": users["PM"]}))
            records.add_project_note(request_as(users["PM"], {"text": f"Note {i}"}), project["project"])
    assert count_statements(app, client, url) == small


def test_project_lookup_and_triage_projects_are_scoped(client, as_role, project):
    as_role("Owner")
    found = client.get("/lookup/projects/?q=site").get_json()["results"]
    assert [r["id"] for r in found] == [str(project["project"])]
    by_account = client.get(f"/triage/projects?account_id={project['account']}").get_json()
    assert by_account == {str(project["account"]): [{"id": str(project["project"]), "text": "Site redesign"}]}
    as_role("Sales")
    assert client.get("/lookup/projects/?q=site").get_json()["results"] == []
    assert client.get(f"/triage/projects?account_id={project['account']}").get_json() == {}


def test_triage_assigns_a_thread_to_a_project(app, client, as_role, project, users):
    with app.app_context():
        ingest(ChangeRequest(SYSTEM), chatwoot.parse_webhook(cw_message(message_id=1002, display_id=43,
                                                                         content="Another request")))
        thread_id = db.session.scalars(select(InboundThread.id).where(InboundThread.id != project["thread"])).one()
    as_role("Owner")
    client.post(f"/triage/{thread_id}/assign", data={"account_id": project["account"], "project_id": project["project"]})
    with app.app_context():
        assert db.session.get(InboundThread, thread_id).project_id == project["project"]
    html = client.get("/triage/?status=assigned").get_data(as_text=True)
    assert "Project: Site redesign" in html and 'class="form-inline thread-project-form"' in html


def test_the_opportunity_form_sets_and_checks_the_project(app, client, as_role, project, users):
    as_role("Owner")
    form = client.get("/opportunityview/add").get_data(as_text=True)
    assert 'name="project"' in form and 'data-depends-field="account"' in form
    response = client.post("/opportunityview/add", data={
        "account": str(project["account"]), "project": str(project["project"]), "name": "Extra pages",
        "stage": "lead", "currency": "RUB", "owner": str(users["Sales"])}, follow_redirects=True)
    assert "must be a member of the project" in response.get_data(as_text=True)  # Sales is no member
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Opportunity)
                                 .where(Opportunity.name == "Extra pages")) == 0
    client.post("/opportunityview/add", data={
        "account": str(project["account"]), "project": str(project["project"]), "name": "Extra pages",
        "stage": "lead", "currency": "RUB", "owner": str(users["PM"])})
    with app.app_context():
        assert db.session.scalars(select(Opportunity.project_id).where(Opportunity.name == "Extra pages")).one() \
            == project["project"]


def test_russian_page(client, as_role, project):
    as_role("PM", lang="ru")
    html = page(client, project["project"]).get_data(as_text=True)
    for text in ("Участники", "Добавить участника", "Заметки", "Входящие диалоги", "Сделки"):
        assert text in html, text
