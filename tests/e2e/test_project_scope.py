"""The read scope's isolation matrix (issue 12): every list, get, search, count, sum, metric,
timeline, lookup and export, seen by each kind of viewer, shows a project's data to its members
and to Owner, and no trace of it to anyone else (a direct GET of its rows is 404).

The data falls in four realms:
  P  project P on account A: deals D (open) and W (won) inside it, an offer on D, thread T, a note,
     P's audit rows (its creation, its members);
  A  account A itself and what is not in any project: contact, deal E, an offer on E, thread T2;
  Q  project Q on account B (pm2 is its PM): deal G inside it;
  B  account B and its deal F outside any project.
Each viewer sees some realms (VIEWERS); after "pm" adds Sales and the team lead to P
(the `joined` phase), they see P too.

CHECKS is the table: one line per endpoint or page. A line names the markers of each realm that
the response carries exactly when the viewer sees that realm, the count it answers (per realm),
or a function for sums and metrics. A new endpoint is one more line.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable

import pytest
from sqlalchemy import select, text

from app.extensions import db
from app.inbound import chatwoot
from app.models import Account, AuditEvent, InboundMessage, OpportunityEvent
from app import scope
from app.services import offers, opportunities, records, triage
from app.services.context import SYSTEM, ChangeRequest
from app.services.inbound import ingest
from tests.conftest import CRM_TABLES, PASSWORD, api_token, empty_tables, login
from tests.helpers import add_project, request_as
from tests.inbound_payloads import cw_message

NOTE = [{"type": "note", "text": "Signed by the client"}]

# ---- who looks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Viewer:
    username: str
    role: str  # the role whose rights decide 403s (README "Roles")
    realms: frozenset  # what they see before anyone joins P
    team: bool = False  # sees everyone's numbers (can read on TeamMetrics), not only their own
    joins: bool = False  # added to P in the `joined` phase

    def sees(self, realm: str, phase: str) -> bool:
        return realm in self.realms or (realm == "P" and self.joins and phase == "joined")


VIEWERS = {
    "owner": Viewer("owner", "Owner", frozenset("PAQB"), team=True),
    "pm": Viewer("pm", "PM", frozenset("PA")),  # P's PM (a member)
    "pm2": Viewer("pm2", "PM", frozenset("QB")),  # PM of Q on account B only
    "sales": Viewer("sales", "Sales", frozenset("AB"), joins=True),  # sees every account, no project
    "lead": Viewer("lead", "Sales", frozenset("AB"), team=True, joins=True),  # Sales + everyone's numbers
}
PHASES = ("before", "joined")

# ---- the data ----------------------------------------------------------------------------------


@dataclass
class Deal:
    key: str
    realm: str
    name: str
    amount: int
    owner: str  # username
    stage: str = "lead"

    @property
    def open(self) -> bool:
        return self.stage not in ("won", "lost")


# Amounts whose partial sums all differ, so a sum tells which deals it counted.
DEALS = [
    Deal("D", "P", "Dorado upsell", 700000, "pm"),
    Deal("W", "P", "Dorado phase one", 90000, "pm", stage="won"),
    Deal("E", "A", "Emerald retainer", 41000, "sales"),
    Deal("F", "B", "Fjord site", 5300, "owner"),
    Deal("G", "Q", "Garnet change", 6100, "pm2"),
]
NAMES = {
    "A.name": "Alder Works", "B.name": "Birch Ltd", "P.name": "Pinewood launch", "Q.name": "Quartz portal",
    "C.name": "Clara Contact", "CB.name": "Boris Contact", "N.text": "Pinewood secret note",
    "T.text": "Brief for the Dorado upsell attached", "T2.text": "A question about the Emerald retainer",
    **{f"{d.key}.name": d.name for d in DEALS},
}


def seed(app, users: dict[str, int]) -> dict:
    """The four realms, created through the verbs as their people would (as the system where no
    person acts); returns every id and name as markers ("D.id", "P.name", …) plus counts."""
    w: dict = dict(NAMES)
    owner = users["owner"]
    with app.app_context(), scope.scoped(scope.SYSTEM):
        with db.engine.begin() as conn:
            empty_tables(conn, ("project_notes", *CRM_TABLES))
        for key, domain in (("A", "alder.test"), ("B", "birch.test")):
            account = records.save_record(request_as(owner), Account(name=w[f"{key}.name"], domain=domain,
                                                                     owner_user_id=users["sales"]))
            w[f"{key}.id"] = account.id
        w["C.id"] = records.add_contact(request_as(users["sales"], {"account_id": w["A.id"], "name": w["C.name"]})).id
        w["CB.id"] = records.add_contact(request_as(users["sales"], {"account_id": w["B.id"], "name": w["CB.name"]})).id
        w["P.id"] = add_project(w["A.id"], w["P.name"], pm_user_id=users["pm"], actor_id=owner)
        w["Q.id"] = add_project(w["B.id"], w["Q.name"], pm_user_id=users["pm2"], actor_id=owner)
        project_of = {"P": w["P.id"], "Q": w["Q.id"]}
        overdue = datetime.now(timezone.utc) - timedelta(days=3)  # every open deal is late: SLA and stall list them
        account_of = {"P": w["A.id"], "A": w["A.id"], "Q": w["B.id"], "B": w["B.id"]}
        for deal in DEALS:
            values = {"account_id": account_of[deal.realm], "project_id": project_of.get(deal.realm),
                      "name": deal.name, "amount_estimate": deal.amount, "owner_user_id": users[deal.owner],
                      "next_step_text": f"Call about {deal.key}", "next_step_due_at": overdue}
            opp, _ = opportunities.create_opportunity(request_as(owner, values))
            if deal.stage != "lead":
                opportunities.update_opportunity(request_as(owner, {"stage": deal.stage}, evidence_refs=NOTE), opp.id)
            w[f"{deal.key}.id"] = opp.id
        opportunities.add_note(request_as(users["pm"], {"text": "Dorado scope agreed"}), w["D.id"])
        w["O.id"] = offers.create_offer_from(request_as(owner), w["D.id"]).id
        w["OE.id"] = offers.create_offer_from(request_as(owner), w["E.id"]).id
        for key, message_id, display_id in (("T", 5001, 501), ("T2", 5002, 502)):
            ingest(ChangeRequest(SYSTEM), chatwoot.parse_webhook(
                cw_message(message_id=message_id, display_id=display_id, content=w[f"{key}.text"])))
            w[f"{key}.id"] = db.session.scalar(select(InboundMessage.thread_id).where(InboundMessage.text == w[f"{key}.text"]))
        triage.assign_thread(request_as(owner), w["T.id"], w["A.id"], w["P.id"])
        triage.assign_thread(request_as(users["sales"]), w["T2.id"], w["A.id"])
        w["N.id"] = records.add_project_note(request_as(users["pm"], {"text": w["N.text"]}), w["P.id"]).id
        w.update({f"{name}.uid": str(uid) for name, uid in users.items()})
        w["M.id"] = db.session.scalar(select(InboundMessage.id).where(InboundMessage.thread_id == w["T.id"]))
        db.session.commit()
        w.update(_counts(w))
        db.session.remove()
    w["P.members"] = 1
    return {k: str(v) if not isinstance(v, (dict, int)) else v for k, v in w.items()}


def _counts(w) -> dict:
    """Per realm, counted as the system: opportunity events ("events"), record audit rows
    ("audit") and the entries of account A's timeline ("timeline A": its deals' events, its
    threads' client messages, its records' audit rows). A row's realm is what it is about, not
    its own columns: a project's and its members' rows go with the project, an offer's with its deal."""
    def add(counts, realm, n=1):
        counts[realm] = counts.get(realm, 0) + n

    events: dict[str, int] = {}
    for deal in DEALS:
        add(events, deal.realm, len(db.session.scalars(
            select(OpportunityEvent.id).where(OpportunityEvent.opportunity_id == w[f"{deal.key}.id"])).all()))
    realm_of = {w["P.id"]: "P", w["Q.id"]: "Q", w["O.id"]: "P", w["OE.id"]: "A", w["A.id"]: "A",
                w["C.id"]: "A", w["B.id"]: "B", w["CB.id"]: "B"}
    audit: dict[str, int] = {}
    for row in db.session.scalars(select(AuditEvent)):
        add(audit, realm_of.get(row.project_id) or realm_of.get(row.entity_id) or realm_of.get(row.account_id))
    timeline = {realm: events.get(realm, 0) + audit.get(realm, 0) for realm in "PA"}
    for key, realm in (("T", "P"), ("T2", "A")):
        add(timeline, realm, len(db.session.scalars(select(InboundMessage.id).where(
            InboundMessage.thread_id == w[f"{key}.id"], InboundMessage.private.is_(False))).all()))
    return {"events": events, "audit": audit, "timeline A": timeline}


# ---- how a response is judged ------------------------------------------------------------------


def visible_deals(viewer: Viewer, phase: str, metric: bool = False) -> list[Deal]:
    """The deals this viewer's numbers include (metrics: only their own unless they see the team's)."""
    return [d for d in DEALS if viewer.sees(d.realm, phase)
            and (not metric or viewer.team or d.owner == viewer.username)]


def amount_in(text_: str, amount) -> bool:
    """`amount` written as the pages write it (1,234,567 with nothing glued to its digits)."""
    return re.search(rf"(?<![\d,.]){int(amount):,}(?![\d])", text_) is not None


ALL = ("Owner", "Sales", "PM")


@dataclass
class Check:
    """One endpoint or page of the matrix.

    url     — with {X.id} markers; pages are fetched with the session, /api/ with the JWT
    roles   — the roles that may open it (others: 403 from the API, the login redirect from a page)
    target  — the realm of the record a direct GET names: 404 when the viewer does not see it
    shows   — realm -> markers present exactly when the viewer sees the realm
    count   — realm -> rows the answer's "count" includes when the viewer sees the realm
    hides   — realm -> markers absent when the viewer does not see the realm (present or not otherwise)
    judge   — fn(body, viewer, phase, world) for sums and metrics: asserts itself
    """

    url: str
    roles: tuple = ALL
    target: str | None = None
    shows: dict = field(default_factory=dict)
    hides: dict = field(default_factory=dict)
    count: dict | Callable | None = None
    judge: Callable | None = None

    @property
    def api(self) -> bool:
        return self.url.startswith("/api/")


# No trace anywhere: every response of every check is searched for these when the viewer does
# not see the realm (ids, names, texts), whatever the check's own lines say.
TRACES = {
    "P": ["P.id", "P.name", "D.id", "D.name", "W.id", "W.name", "O.id", "T.id", "T.text", "M.id", "N.id", "N.text"],
    "A": ["A.id", "A.name", "E.id", "E.name", "C.id", "C.name", "OE.id", "T2.id", "T2.text"],
    "Q": ["Q.id", "Q.name", "G.id", "G.name"],
    "B": ["B.id", "B.name", "F.id", "F.name", "CB.id", "CB.name"],
}
INBOX = ("Owner", "Sales")  # triage and inbound threads
NUMBERS = ("Owner", "Sales")  # dashboard and metrics API
OPP_MARKS = {"P": ["D.id", "W.id"], "A": ["E.id"], "Q": ["G.id"], "B": ["F.id"]}
DEAL_NAMES = {"P": ["D.name", "W.name"], "A": ["E.name"], "Q": ["G.name"], "B": ["F.name"]}


def count_deals(**where) -> Callable:
    """Per-realm count of DEALS matching the attributes (stage="lead", open=True, …)."""
    def counts(_w):
        result: dict[str, int] = {}
        for d in DEALS:
            if all(getattr(d, k) == v for k, v in where.items()):
                result[d.realm] = result.get(d.realm, 0) + 1
        return result
    return counts


def rison_name(op: str, value: str) -> str:
    return f"q=(filters:!((col:name,opr:{op},value:'{value}')))"


# --- judges for numbers -------------------------------------------------------------------------

def board_column(stage: str):
    """The board's column: its count badge and amount sum cover exactly the visible deals."""
    def judge(body, viewer, phase, _w):
        column = body.split(f'data-stage="{stage}"', 1)[1].split("<section", 1)[0]
        deals = [d for d in visible_deals(viewer, phase) if d.stage == stage]
        assert f'<span class="badge column-count">{len(deals)}</span>' in column
        assert amount_in(column, sum(d.amount for d in deals)), (sum(d.amount for d in deals), column[:600])
        for d in DEALS:
            if d.stage == stage:
                assert (d.name in column) == (d in deals), d.name
    return judge


def board_summary(body, viewer, phase, _w, realm: str | None = None):
    summary = json.loads(body)
    for stage in ("lead", "won"):
        deals = [d for d in visible_deals(viewer, phase) if d.stage == stage and realm in (None, d.realm)]
        assert summary[stage]["count"] == len(deals), (stage, summary[stage])
        assert amount_in(summary[stage]["amount"], sum(d.amount for d in deals)), (stage, summary[stage])


def accounts_list(*keys):
    """Each listed account's row (shown when the viewer sees the account): its active projects,
    open deals, overdue label and open pipeline cover only what the viewer sees."""
    def judge(body, viewer, phase, w):
        rows = {row.split(">", 1)[0]: row.split("</tr>", 1)[0] for row in body.split("data-account-id=")[1:]}
        for key in keys:
            realms = {"A": "PA", "B": "QB"}[key]
            project = {"A": "P", "B": "Q"}[key]
            row = next((r for k, r in rows.items() if w[f"{key}.id"] in k), None)
            assert (row is not None) == viewer.sees(key, phase), key
            if row is None:
                continue
            cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
            deals = [d for d in visible_deals(viewer, phase) if d.realm in realms and d.open]
            wrong = []
            if cells[6].strip() != str(int(viewer.sees(project, phase))):
                wrong.append(("active projects", cells[6]))
            if not re.match(rf"\s*{len(deals)}\b", cells[7]):
                wrong.append(("open deals", len(deals), cells[7]))
            if f"{len(deals)} overdue" not in cells[7]:
                wrong.append(("overdue", len(deals), cells[7]))
            if not amount_in(cells[8], sum(d.amount for d in deals)):
                wrong.append(("open pipeline", sum(d.amount for d in deals), cells[8]))
            assert not wrong, (key, wrong)
    return judge


def pipeline(body, viewer, phase, _w, owner: str | None = None):
    """The lead stage of the pipeline: count and amount of the deals the viewer's numbers include
    (of one owner when asked: only a viewer who sees the team's numbers may ask)."""
    stages = {s["stage"]: s for s in json.loads(body)["result"]["stages"]}
    deals = [d for d in visible_deals(viewer, phase, metric=True) if d.stage == "lead"
             and (owner is None or not viewer.team or d.owner == owner)]
    assert stages["lead"]["count"] == len(deals), stages["lead"]
    assert Decimal(str(stages["lead"]["amount"])) == sum(d.amount for d in deals), stages["lead"]


def win_rate(body, viewer, phase, _w):
    overall = json.loads(body)["result"]["overall"]
    assert overall["won"] == sum(1 for d in visible_deals(viewer, phase, metric=True) if d.stage == "won"), overall


def metric_names(open_only: bool):
    """The deals a metric lists by name (SLA, dashboard, stall report) are exactly the visible ones."""
    def judge(body, viewer, phase, _w):
        shown = visible_deals(viewer, phase, metric=True)
        for d in DEALS:
            if d.open or not open_only:
                assert (d.name in body) == (d in shown), d.name
    return judge


def dashboard(realm: str | None = None):
    """The dashboard (optionally of one project): the overdue deals it lists, their count and the
    lead stage's pipeline bar cover exactly the deals the viewer's numbers include."""
    def judge(body, viewer, phase, _w):
        shown = [d for d in visible_deals(viewer, phase, metric=True) if d.open and realm in (None, d.realm)]
        for d in DEALS:
            if d.open:
                assert (d.name in body) == (d in shown), d.name
        assert f'<span class="sla-overdue">{len(shown)}</span>' in body, len(shown)
        lead = sum(d.amount for d in shown if d.stage == "lead")
        assert not lead or amount_in(body, lead), lead
    return judge


def timeline_total(key: str):
    """The timeline's entry count (its heading) counts only what the viewer sees."""
    def judge(body, viewer, phase, w):
        expected = sum(n for realm, n in w[key].items() if viewer.sees(realm, phase))
        total = re.search(r"<h3>[^<]*<small>(\d+)</small></h3>", body)
        assert total and int(total.group(1)) == expected, (total and total.group(1), expected, w[key])
    return judge


def aging(body, viewer, phase, _w):
    stages = {s["stage"]: s for s in json.loads(body)["result"]}
    lead = [d for d in visible_deals(viewer, phase, metric=True) if d.stage == "lead"]
    assert stages["lead"]["count"] == len(lead), stages["lead"]


# ---- the table ---------------------------------------------------------------------------------

CHECKS = {
    # projects and their members
    "api projects": Check("/api/v1/projects/", shows={"P": ["P.id"], "Q": ["Q.id"]}, count={"P": 1, "Q": 1}),
    "api projects rison": Check("/api/v1/projects/?" + rison_name("ct", "Pinewood"), shows={"P": ["P.id"]},
                                count={"P": 1}),
    "api project P": Check("/api/v1/projects/{P.id}", target="P", shows={"P": ["P.name"]}),
    "api project P events": Check("/api/v1/projects/{P.id}/events", target="P", shows={"P": ["P.id"]}),
    "api project Q": Check("/api/v1/projects/{Q.id}", target="Q", shows={"Q": ["Q.name"]}),
    "api projects _info": Check("/api/v1/projects/_info", shows={}),
    "api members": Check("/api/v1/project_members/", shows={"P": ["P.id"], "Q": ["Q.id"]},
                         count=lambda w: {"P": w["P.members"], "Q": 1}),
    "api members of P": Check("/api/v1/project_members/?q=(filters:!((col:project_id,opr:eq,value:'{P.id}')))",
                              shows={"P": ["P.id"]}, count=lambda w: {"P": w["P.members"]}),
    "api members _info": Check("/api/v1/project_members/_info", shows={}),
    # deals
    "api opportunities": Check("/api/v1/opportunities/", shows=OPP_MARKS, count=count_deals()),
    "api opportunities open": Check("/api/v1/opportunities/?status=open", shows={**OPP_MARKS, "P": ["D.id"]},
                                    count=count_deals(open=True)),
    "api opportunities of A": Check("/api/v1/opportunities/?account_id={A.id}", shows={"P": ["D.id", "W.id"], "A": ["E.id"]},
                                    count={"P": 2, "A": 1}),
    "api opportunities lead stage": Check("/api/v1/opportunities/?stage=lead&page_size=100",
                                          shows={**OPP_MARKS, "P": ["D.id"]}, count=count_deals(stage="lead")),
    "api opportunities of pm": Check("/api/v1/opportunities/?owner=pm", shows={"P": ["D.id", "W.id"]}, count={"P": 2}),
    "api opportunities rison ct": Check("/api/v1/opportunities/?" + rison_name("ct", "Dorado"),
                                        shows={"P": ["D.id", "W.id"]}, count={"P": 2}),
    "api opportunities rison eq": Check("/api/v1/opportunities/?" + rison_name("eq", "Dorado upsell"),
                                        shows={"P": ["D.id"]}, count={"P": 1}),
    "api opportunity D": Check("/api/v1/opportunities/{D.id}", target="P", shows={"P": ["D.name"]}),
    "api opportunity D events": Check("/api/v1/opportunities/{D.id}/events", target="P", shows={"P": ["D.id"]}),
    "api opportunity E": Check("/api/v1/opportunities/{E.id}", target="A", shows={"A": ["E.name"]}),
    "api opportunities _info": Check("/api/v1/opportunities/_info", shows={}),
    "api offers": Check("/api/v1/offers/", shows={"P": ["O.id"], "A": ["OE.id"]}, count={"P": 1, "A": 1}),
    "api offers rison": Check("/api/v1/offers/?" + "q=(filters:!((col:title,opr:ct,value:Dorado)))",
                              shows={"P": ["O.id"]}, count={"P": 1}),
    "api offer O": Check("/api/v1/offers/{O.id}", target="P", shows={"P": ["D.name"]}),
    "api offers _info": Check("/api/v1/offers/_info", shows={}),
    "api opportunity events": Check("/api/v1/opportunity_events/", shows=OPP_MARKS,
                                    count=lambda w: w["events"]),
    # record audit
    "api audit events": Check("/api/v1/audit_events/",
                              shows={"P": ["P.id", "O.id"], "A": ["C.id", "OE.id"], "Q": ["Q.id"], "B": ["CB.id"]},
                              count=lambda w: w["audit"]),
    "api audit events of P": Check("/api/v1/audit_events/?q=(filters:!((col:project_id,opr:eq,value:'{P.id}')))",
                                   shows={"P": ["P.id"]}, count=lambda w: {"P": w["audit"]["P"]}),
    "api audit events of A": Check("/api/v1/audit_events/?q=(filters:!((col:account_id,opr:eq,value:'{A.id}')))",
                                   shows={"P": ["P.id", "O.id"], "A": ["C.id", "OE.id"]},
                                   count=lambda w: {k: v for k, v in w["audit"].items() if k in "PA"}),
    # accounts and contacts
    "api accounts": Check("/api/v1/accounts/", shows={"A": ["A.id"], "B": ["B.id"]}, count={"A": 1, "B": 1}),
    "api account A": Check("/api/v1/accounts/{A.id}", target="A",
                           shows={"P": ["P.id", "D.id", "W.id"], "A": ["E.id", "C.id"]}),
    "api account A events": Check("/api/v1/accounts/{A.id}/events?page_size=100", target="A",
                                  shows={"P": ["P.id", "O.id", "D.name"], "A": ["C.id", "OE.id"]},
                                  count=lambda w: {k: v for k, v in w["audit"].items() if k in "PA"}),
    "api account B": Check("/api/v1/accounts/{B.id}", target="B", shows={"Q": ["Q.id", "G.id"], "B": ["F.id"]}),
    "api contacts": Check("/api/v1/contacts/", shows={"A": ["C.id"], "B": ["CB.id"]}, count={"A": 1, "B": 1}),
    "api accounts _info": Check("/api/v1/accounts/_info", shows={}),
    # inbound
    "api threads": Check("/api/v1/inbound_threads/", INBOX, shows={"P": ["T.id"], "A": ["T2.id"]}, count={"P": 1, "A": 1}),
    "api threads assigned to A": Check("/api/v1/inbound_threads/?status=assigned&account_id={A.id}", INBOX,
                                       shows={"P": ["T.id"], "A": ["T2.id"]}, count={"P": 1, "A": 1}),
    "api threads rison": Check("/api/v1/inbound_threads/?q=(filters:!((col:account_id,opr:eq,value:'{A.id}')))",
                               INBOX, shows={"P": ["T.id"], "A": ["T2.id"]}, count={"P": 1, "A": 1}),
    "api thread T": Check("/api/v1/inbound_threads/{T.id}", INBOX, target="P", shows={"P": ["T.text"]}),
    "api thread T2": Check("/api/v1/inbound_threads/{T2.id}", INBOX, target="A", shows={"A": ["T2.text"]}),
    "api threads _info": Check("/api/v1/inbound_threads/_info", INBOX, shows={}),
    # metrics
    "api pipeline": Check("/api/v1/metrics/pipeline", NUMBERS, judge=pipeline),
    "api sla": Check("/api/v1/metrics/sla", NUMBERS, judge=metric_names(open_only=True)),
    "api win rate": Check("/api/v1/metrics/win-rate", NUMBERS, judge=win_rate),
    "api aging": Check("/api/v1/metrics/aging", NUMBERS, judge=aging),
    "api pipeline of pm": Check("/api/v1/metrics/pipeline?owner={pm.uid}", NUMBERS,
                                judge=lambda b, v, ph, w: pipeline(b, v, ph, w, owner="pm")),
    # pages: board, accounts, deal pages
    "board": Check("/board/?owner=all", judge=board_column("lead")),
    "board won column": Check("/board/?owner=all", judge=board_column("won")),
    "board search": Check("/board/?owner=all&q=dorado", shows={"P": ["D.name"]}),
    "board of P": Check("/board/?owner=all&project={P.id}", shows={"P": ["D.name", "W.name"]}),
    "board outside projects": Check("/board/?owner=all&project=none", shows={"A": ["E.name"], "B": ["F.name"]}),
    "board of P, summary": Check("/board/summary?owner=all&project={P.id}",
                                 judge=lambda b, v, ph, w: board_summary(b, v, ph, w, realm="P")),
    "board summary": Check("/board/summary?owner=all", judge=board_summary),
    "board more cards": Check("/board/column/lead?owner=all&offset=0", shows=DEAL_NAMES | {"P": ["D.name"]}),
    "accounts list": Check("/accounts/", judge=accounts_list("A", "B")),
    "accounts search": Check("/accounts/?q=alder", judge=accounts_list("A")),
    "account page A": Check("/accounts/{A.id}", target="A",
                            shows={"P": ["P.name", "D.name", "W.name", "T.text"],
                                   "A": ["E.name", "C.name", "T2.text"]}, judge=timeline_total("timeline A")),
    "account page B": Check("/accounts/{B.id}", target="B", shows={"Q": ["Q.name", "G.name"], "B": ["F.name"]}),
    "deal page D": Check("/opportunities/{D.id}", target="P", shows={"P": ["D.name"]}),
    "deal page E": Check("/opportunities/{E.id}", target="A", shows={"P": ["T.text", "D.name"], "A": ["E.name", "T2.text"]}),
    "project page P": Check("/projects/{P.id}", target="P", shows={"P": ["N.text", "D.name"]}),
    # triage and lookups
    "triage assigned": Check("/triage/?status=assigned", INBOX, shows={"P": ["T.text"], "A": ["T2.text"]}),
    "triage projects of A": Check("/triage/projects?account_id={A.id}", INBOX, shows={"P": ["P.id"]}),
    "triage account search": Check("/triage/accounts?q=alder", INBOX, shows={"A": ["A.id"]}),
    "lookup accounts": Check("/lookup/accounts/?q=", shows={"A": ["A.id"], "B": ["B.id"]}),
    "lookup deals": Check("/lookup/opportunities/?q=", shows=OPP_MARKS),
    "lookup deals dorado": Check("/lookup/opportunities/?q=dorado", shows={"P": ["D.id", "W.id"]}),
    "lookup deals by account": Check("/lookup/opportunities/?q=alder", shows={"P": ["D.id", "W.id"], "A": ["E.id"]}),
    "lookup projects": Check("/lookup/projects/?q=", shows={"P": ["P.id"], "Q": ["Q.id"]}),
    "lookup projects pine": Check("/lookup/projects/?q=pine", shows={"P": ["P.id"]}),
    "lookup projects of A": Check("/lookup/projects/?account_id={A.id}", shows={"P": ["P.id"]}),
    # dashboard and the stall report (Owner and Admin only)
    "dashboard": Check("/dashboard/", NUMBERS, judge=dashboard()),
    "dashboard of P": Check("/dashboard/?project={P.id}", NUMBERS, judge=dashboard("P")),
    "dashboard outside projects": Check("/dashboard/?project=none", NUMBERS, hides={"P": ["D.name"]}),
    "stall report": Check("/stall/?owner=all", ("Owner",), judge=metric_names(open_only=True)),
    "stall csv": Check("/stall/csv", ("Owner",), judge=metric_names(open_only=True)),
    # generated views
    "view deals": Check("/opportunityview/list/?psize_OpportunityView=100", shows=DEAL_NAMES),
    "view deal D": Check("/opportunityview/show/{D.id}", target="P", shows={"P": ["D.name"]}),
    "view projects": Check("/projectview/list/", shows={"P": ["P.name"], "Q": ["Q.name"]}),
    "view project P": Check("/projectview/show/{P.id}", target="P", shows={"P": ["P.name"]}),
    "view members": Check("/projectmemberview/list/", shows={"P": ["P.id"], "Q": ["Q.id"]}),
    "view offers": Check("/offerview/list/", shows={"P": ["O.id"], "A": ["OE.id"]}),
    "view offer O": Check("/offerview/show/{O.id}", target="P", shows={"P": ["D.name"]}),
    "view deal events": Check("/opportunityeventview/list/?psize_OpportunityEventView=100", shows=DEAL_NAMES),
    "view record changes": Check("/auditeventview/list/?psize_AuditEventView=100",
                                 shows={"P": ["P.name"], "Q": ["Q.name"]}),
    "view deals search": Check("/opportunityview/list/?_flt_2_name=Dorado", shows={"P": ["D.name", "W.name"]}),
    "view thread events": Check("/inboundthreadeventview/list/", INBOX, shows={"P": ["T.id"], "A": ["T2.id"]}),
    "view threads": Check("/inboundthreadview/list/", INBOX, shows={"P": ["T.id"], "A": ["T2.id"]}),
    "view thread T": Check("/inboundthreadview/show/{T.id}", INBOX, target="P", shows={"P": ["T.text"]}),
    "view messages": Check("/inboundmessageview/list/", INBOX, shows={"P": ["T.text"], "A": ["T2.text"]}),
    "view contacts": Check("/contactview/list/", shows={"A": ["C.name"], "B": ["CB.name"]}),
    "view accounts": Check("/accountview/list/", shows={"A": ["A.name"], "B": ["B.name"]}),
}

# ---- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def people(app):
    """username -> user id: the conftest users plus pm2 (PM of Q) and lead (Sales who sees the team's numbers)."""
    with app.app_context():
        sm = app.appbuilder.sm
        if not sm.find_user(username="pm2"):
            sm.add_user(username="pm2", first_name="Petr", last_name="Second", email="pm2@studio.test",
                        role=sm.find_role("PM"), password=PASSWORD)
        team = sm.find_role("Team numbers") or sm.add_role("Team numbers")
        sm.add_permission_role(team, sm.find_permission_view_menu("can_read", "TeamMetrics"))
        if not sm.find_user(username="lead"):
            sm.add_user(username="lead", first_name="Lena", last_name="Lead", email="lead@studio.test",
                        role=[sm.find_role("Sales"), team], password=PASSWORD)
        return {name: sm.find_user(username=name).id for name in ("owner", "admin", "sales", "pm", "pm2", "lead")}


@pytest.fixture(scope="module")
def sessions(app, people):
    """username -> (a test client logged in through the login form, JWT headers)."""
    result = {}
    for name in VIEWERS:
        client = login(app.test_client(), name)
        result[name] = (client, {"Authorization": f"Bearer {api_token(app.test_client(), name)}"})
    return result


@pytest.fixture(scope="module", params=PHASES)
def world(request, app, people, sessions):
    """The seeded realms; in the `joined` phase P's PM has added Sales and the team lead to P
    (through the API, as a PM manages their project)."""
    w = seed(app, people)
    w["phase"] = request.param
    if request.param == "joined":
        _, pm_headers = sessions["pm"]
        client = app.test_client()
        for name in ("sales", "lead"):
            added = client.post("/api/v1/project_members/", headers=pm_headers,
                                json={"project_id": w["P.id"], "user_id": people[name], "role": "sales"})
            assert added.status_code == 201, added.get_json()
        w["P.members"] = 3
        with app.app_context(), scope.scoped(scope.SYSTEM):
            w.update(_counts({k: _uuid(v) for k, v in w.items() if k.endswith(".id")}))
            db.session.remove()
    return w


def _uuid(value):
    import uuid

    return uuid.UUID(value)


# ---- the matrix --------------------------------------------------------------------------------


def _fill(url: str, w: dict) -> str:
    return re.sub(r"\{([A-Za-z0-9]+\.u?id)\}", lambda m: w[m.group(1)], url)


@pytest.mark.parametrize("check", list(CHECKS))
@pytest.mark.parametrize("who", list(VIEWERS))
def test_isolation_matrix(world, sessions, who, check):
    viewer, spec, phase = VIEWERS[who], CHECKS[check], world["phase"]
    client, headers = sessions[who]
    url = _fill(spec.url, world)
    with scope.scoped(scope.NOBODY):  # no ambient scope (the autouse SYSTEM one): as in production
        response = client.get(url, headers=headers if spec.api else None)
    body = response.get_data(as_text=True)
    if viewer.role not in spec.roles:
        if spec.api:
            assert response.status_code == 403, (url, response.status_code)
        else:
            assert response.status_code in (302, 403) and "/login" in response.headers.get("Location", "/login"), url
        return
    if spec.target and not viewer.sees(spec.target, phase):
        assert response.status_code == 404, (url, response.status_code, body[:300])
        return
    assert response.status_code == 200, (url, response.status_code, body[:500])
    leaks, missing = [], []
    for realm, markers in spec.shows.items():
        for marker in markers:
            present = world[marker] in body
            if present and not viewer.sees(realm, phase):
                leaks.append(marker)
            if not present and viewer.sees(realm, phase):
                missing.append(marker)
    for realm, markers in list(spec.hides.items()) + list(TRACES.items()):
        leaks += [m for m in markers if world[m] in body and not viewer.sees(realm, phase) and m not in leaks
                  and world[m] not in url]  # a page may echo the viewer's own filter
    assert not leaks, f"{who} ({phase}) sees {leaks} at {url}"
    assert not missing, f"{who} ({phase}) misses {missing} at {url}"
    if spec.count is not None:
        per_realm = spec.count(world) if callable(spec.count) else spec.count
        expected = sum(n for realm, n in per_realm.items() if viewer.sees(realm, phase))
        actual = json.loads(body)["count"]
        assert actual == expected, f"{who} ({phase}) counts {actual}, not {expected}, at {url} {per_realm}"
    if spec.judge:
        spec.judge(body, viewer, phase, world)


# ---- writes to rows the viewer cannot see --------------------------------------------------------
# Reads decide writes: a row out of the viewer's scope does not exist for them, so a change of it
# is refused as for a missing row (404 when the URL names it, 422 on the field when the body does)
# and writes nothing. Role refusals (403) are tests/integration/test_roles.py's.


@dataclass
class Write:
    who: str
    method: str
    url: str
    body: dict | None = None
    refused: tuple = (404,)
    page: bool = False  # a page's form post: it may answer with a redirect and a message instead


WRITES = {
    "sales patches D": Write("sales", "PATCH", "/api/v1/opportunities/{D.id}", {"next_step_text": "Hijack"}),
    "sales notes D": Write("sales", "POST", "/api/v1/opportunities/{D.id}/notes", {"text": "Hijack"}),
    "sales offers on D": Write("sales", "POST", "/api/v1/offers/", {"opportunity_id": "{D.id}", "title": "Hijack"},
                               refused=(404, 422)),
    "sales creates a deal in P": Write("sales", "POST", "/api/v1/opportunities/",
                                       {"account_id": "{A.id}", "project_id": "{P.id}", "name": "Hijack", "owner": "me"},
                                       refused=(422,)),
    "sales assigns T2 to P": Write("sales", "POST", "/api/v1/inbound_threads/{T2.id}/assign",
                                   {"account_id": "{A.id}", "project_id": "{P.id}"}, refused=(422,)),
    "sales ignores T": Write("sales", "POST", "/api/v1/inbound_threads/{T.id}/ignore", {}),
    "sales edits offer O": Write("sales", "PUT", "/api/v1/offers/{O.id}", {"title": "Hijack"}),
    "pm2 renames P": Write("pm2", "PUT", "/api/v1/projects/{P.id}", {"name": "Hijack"}),
    "pm2 joins P": Write("pm2", "POST", "/api/v1/project_members/", {"project_id": "{P.id}", "user_id": "pm2"},
                         refused=(404, 422)),
    "pm2 edits a member of P": Write("pm2", "PUT", "/api/v1/project_members/{PM.id}", {"role": "Hijack"}),
    "pm2 notes E": Write("pm2", "POST", "/api/v1/opportunities/{E.id}/notes", {"text": "Hijack"}),
    "pm2 page: joins P": Write("pm2", "POST", "/projects/{P.id}/members", {"user_id": "pm2"}, page=True),
    "pm2 page: notes P": Write("pm2", "POST", "/projects/{P.id}/notes", {"text": "Hijack"}, page=True),
    "sales page: notes D": Write("sales", "POST", "/opportunities/{D.id}/notes", {"text": "Hijack"}, page=True),
    "sales page: offer from D": Write("sales", "POST", "/opportunities/{D.id}/offer", page=True),
    "sales page: notes D from account A": Write("sales", "POST", "/accounts/{A.id}/notes",
                                                {"text": "Hijack", "opportunity_id": "{D.id}"}, page=True),
}


def snapshot(app) -> tuple:
    """Rows of every table a write could touch, and the words a hijack would leave."""
    with app.app_context(), scope.scoped(scope.SYSTEM):
        tables = ("opportunities", "opportunity_events", "offers", "audit_events", "project_members", "project_notes",
                  "inbound_thread_events", "projects")
        counts = tuple(db.session.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in tables)
        hijacked = db.session.execute(text(
            "SELECT (SELECT count(*) FROM opportunities WHERE next_step_text = 'Hijack' OR name = 'Hijack')"
            " + (SELECT count(*) FROM projects WHERE name = 'Hijack')"
            " + (SELECT count(*) FROM offers WHERE title = 'Hijack')"
            " + (SELECT count(*) FROM inbound_threads WHERE status = 'ignored')")).scalar()
        db.session.remove()
        return counts, hijacked


def _fill_body(value, w: dict, people: dict):
    if isinstance(value, dict):
        return {k: _fill_body(v, w, people) for k, v in value.items()}
    if isinstance(value, str) and value in people and value != "me":
        return people[value]
    return _fill(value, w) if isinstance(value, str) else value


@pytest.fixture()
def member_row(app, world):
    """The id of pm's membership row in P ("PM.id")."""
    from app.models import ProjectMember

    with app.app_context(), scope.scoped(scope.SYSTEM):
        world["PM.id"] = str(db.session.scalar(select(ProjectMember.id).where(ProjectMember.project_id == _uuid(world["P.id"]))))
    return world


@pytest.mark.parametrize("world", ["before"], indirect=True)
@pytest.mark.parametrize("name", list(WRITES))
def test_writes_to_rows_out_of_scope_are_refused_and_write_nothing(app, world, member_row, sessions, people, name):
    spec = WRITES[name]
    client, headers = sessions[spec.who]
    url = _fill(spec.url, world)
    body = _fill_body(spec.body, world, people)
    before = snapshot(app)
    with scope.scoped(scope.NOBODY):
        if spec.page:
            response = client.open(url, method=spec.method, data=body or {})
        else:
            response = client.open(url, method=spec.method, json=body, headers=headers)
    answer = response.get_data(as_text=True)[:300]
    allowed = spec.refused + ((302,) if spec.page else ())
    assert response.status_code in allowed, (name, response.status_code, answer)
    assert snapshot(app) == before, (name, response.status_code, answer)


@pytest.mark.parametrize("world", ["before"], indirect=True)
def test_the_cli_acts_under_its_users_scope(app, world):
    """`flask crm opportunity-update --as` a non-member: the deal does not exist for them (the same
    answer as for an id that exists nowhere) and nothing is written."""
    before = snapshot(app)

    def update(opp_id):
        result = app.test_cli_runner().invoke(args=["crm", "opportunity-update", opp_id, "--set",
                                                    "next_step_text=Hijack", "--as", "sales"])
        return result.exit_code, result.output.replace(opp_id, "<id>")

    hidden, missing = update(world["D.id"]), update("00000000-0000-0000-0000-000000000000")
    assert hidden[0] != 0 and hidden == missing, (hidden, missing)
    assert snapshot(app) == before
