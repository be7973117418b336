"""Maintained aggregates (app/services/aggregates.py) stay equal to a recomputation through every
verb, under concurrent moves, and the board and the accounts list read them in a constant number
of statements."""
from __future__ import annotations

import random
import threading
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import and_, func, or_, select, text

from app import scope
from app.domain.errors import DomainError
from app.extensions import db
from app.models import Account, Opportunity
from app.queries import board
from app.queries.conditions import NO_PROJECT
from app.services import aggregates
from app.services.opportunities import accept_proposal, create_opportunity, update_opportunity, withdraw_proposal
from tests.conftest import USE_SQLITE, count_statements
from tests.helpers import add_project, request_as

MINE = ["account_counts", "account_open", "account_pipeline", "account_pipeline_outside", "board_closed", "board_open"]
NOTE = [{"type": "note", "text": "aggregates test"}]
OPEN_STAGES = ["lead", "qualified", "discovery", "proposal_sent", "negotiation"]
CATEGORIES = ["pipeline", "best_case", "commit", "omitted"]


def _new_account(name: str, owner: int | None) -> Account:
    from app.services.records import save_record

    return save_record(request_as(owner), Account(name=name, owner_user_id=owner))


def _act(verb, user, *args, values=None, at=None, done=None, action=None):
    """Run a verb as `user`; a refusal (a rule, a version) is part of a random history."""
    try:
        result = verb(request_as(user, values or {}, evidence_refs=NOTE, at=at), *args)
    except DomainError:
        return None
    if done is not None:
        done[action] = done.get(action, 0) + 1
    return result


def _world(users):
    """Three accounts, a project on the first two (Sales a member of the first only)."""
    owner, sales = users["Owner"], users["Sales"]
    accounts = [_new_account(f"Aggregates {i}", owner).id for i in range(3)]
    projects = {accounts[0]: add_project(accounts[0], "P1", members=(owner, sales)),
                accounts[1]: add_project(accounts[1], "P2", members=(owner,))}
    return accounts, projects


def random_history(users, steps: int, seed: int) -> tuple[list, dict]:
    """Create, move, reassign, change amount / probability / forecast / project / currency, close
    (some closings 30 days ago give or take: the board's window edge), reopen, propose, accept,
    withdraw and move deals between accounts — through the real verbs, as Owner."""
    rng = random.Random(seed)
    owner, sales = users["Owner"], users["Sales"]
    accounts, projects = _world(users)
    deals: list = []
    done: dict = {}
    now = datetime.now(timezone.utc)
    step = {"next_step_text": "Call", "next_step_due_at": now + timedelta(days=2)}
    for _ in range(steps):
        action = rng.choice(["create", "create", "move", "move", "owner", "amount", "probability", "forecast",
                             "project", "close", "close", "reopen", "propose", "accept", "withdraw", "account",
                             "currency", "next_step"])
        pick = rng.choice(deals) if deals else None
        if action == "create" or pick is None:
            account = rng.choice(accounts)
            values = {"account_id": str(account), "name": f"Deal {len(deals)}", "stage": rng.choice(OPEN_STAGES),
                      "amount_estimate": rng.choice([None, Decimal("1000.50"), Decimal(250000), Decimal(7)]),
                      "owner_user_id": rng.choice([owner, sales]), "currency": rng.choice(["RUB", "RUB", "USD"]),
                      **step}
            if account in projects and rng.random() < 0.4:
                values["project_id"] = projects[account]
            created = _act(create_opportunity, owner, values=values, done=done, action="create")
            if created:
                deals.append(created[0].id)
            continue
        if action == "propose":
            created = _act(create_opportunity, owner, values={"account_id": str(rng.choice(accounts)),
                                                               "name": "Proposal", "proposed": True},
                           done=done, action="propose")
            if created:
                deals.append(created[0].id)
            continue
        changes = {
            "move": lambda: {"stage": rng.choice(OPEN_STAGES), **step},
            "owner": lambda: {"owner_user_id": rng.choice([owner, sales])},
            "amount": lambda: {"amount_estimate": rng.choice([None, Decimal("99.99"), Decimal(5000000)])},
            "probability": lambda: {"probability": rng.choice([Decimal("0.1"), Decimal("0.555"), Decimal(1)])},
            "forecast": lambda: {"forecast_category": rng.choice(CATEGORIES)},
            "project": lambda: {"project_id": rng.choice(list(projects.values()) + [None])},
            "close": lambda: {"stage": rng.choice(["won", "lost"]), "lost_reason": "Budget"},
            "reopen": lambda: {"stage": rng.choice(OPEN_STAGES), **step},
            "account": lambda: {"account_id": rng.choice(accounts), "project_id": None},
            "currency": lambda: {"currency": rng.choice(["RUB", "USD", "EUR"])},
            "next_step": lambda: {"next_step_text": "Call", "next_step_due_at": now + timedelta(days=2)},
        }.get(action)
        if action == "accept":
            _act(accept_proposal, owner, pick, values={"name": "Accepted", "amount_estimate": Decimal(300)},
                 done=done, action=action)
        elif action == "withdraw":
            _act(withdraw_proposal, owner, pick, done=done, action=action)
        else:
            # a closing may happen in the past: around the board's 30-day edge, or long ago
            at = now - timedelta(days=rng.choice([0, 3, 29.9, 30.02, 45])) if action == "close" else None
            _act(update_opportunity, owner, pick, values=changes(), at=at, done=done, action=action)
    return deals, projects, done


def direct_sums(f: board.BoardFilters, now: datetime, visible=None) -> dict:
    """The board's column sums straight from the deals (the definition the aggregates must equal)."""
    since = now - timedelta(days=f.closed_days)
    amount = func.coalesce(Opportunity.amount_estimate, 0)
    where = [Opportunity.proposed.is_(False),
             or_(Opportunity.status == "open", and_(Opportunity.status != "open", Opportunity.closed_at >= since))]
    if f.owner_ids:
        where.append(Opportunity.owner_user_id.in_(f.owner_ids))
    if f.forecast_category:
        where.append(Opportunity.forecast_category == f.forecast_category)
    if f.project == NO_PROJECT:
        where.append(Opportunity.project_id.is_(None))
    elif f.project is not None:
        where.append(Opportunity.project_id == f.project)
    if visible is not None:
        where.append(scope.opportunity_visible(visible))
    rows = db.session.execute(
        select(Opportunity.stage, Opportunity.currency, func.count(), func.sum(amount),
               func.sum(amount * func.coalesce(Opportunity.probability, 0)))
        .where(*where).group_by(Opportunity.stage, Opportunity.currency)
        .execution_options(**{scope.UNSCOPED: True}))
    result = {}
    for stage, currency, count, total, weighted in rows:
        column = result.setdefault(stage, {"count": 0, "amount": {}, "weighted": {}})
        column["count"] += count
        column["amount"][currency] = Decimal(total or 0)
        column["weighted"][currency] = Decimal(weighted or 0).quantize(Decimal("0.01"))
    return result


def board_sums(f: board.BoardFilters, now: datetime) -> dict:
    return {stage: {"count": c["count"], "amount": {k: v for k, v in c["amount"].items() if v or c["count"]},
                    "weighted": {k: v for k, v in c["weighted"].items() if v or c["count"]}}
            for stage, c in board.summaries(f, now).items() if c["count"]}


def _normalised(sums: dict) -> dict:
    return {stage: {"count": c["count"], "amount": {k: Decimal(v) for k, v in c["amount"].items()},
                    "weighted": {k: Decimal(v) for k, v in c["weighted"].items()}} for stage, c in sums.items()}


def assert_board_equals_deals(users, projects):
    now = datetime.now(timezone.utc)
    p1, p2 = list(projects.values())
    sales_scope = scope.Scope(all_projects=False, all_accounts=True, project_ids=(p1,))
    pm_scope = scope.Scope(all_projects=False, all_accounts=False, project_ids=(p2,),
                           account_ids=tuple(projects)[1:2])
    filters = [board.BoardFilters(), board.BoardFilters(owner_ids=[users["Sales"]]),
               board.BoardFilters(forecast_category="commit"), board.BoardFilters(project=NO_PROJECT),
               board.BoardFilters(project=p1), board.BoardFilters(owner_ids=[users["Owner"]], project=p2),
               board.BoardFilters(closed_days=7)]
    for view in (scope.SYSTEM, sales_scope, pm_scope):
        with scope.scoped(view):
            for f in filters:
                expected = direct_sums(f, now, None if view is scope.SYSTEM else view)
                assert _normalised(board_sums(f, now)) == _normalised(expected), (view, f)


def test_random_histories_keep_the_aggregates_equal_to_a_recomputation(app, clean_db, users):
    with app.app_context():
        for seed in (1, 2):
            deals, projects, done = random_history(users, 120, seed)
            # the history really did each kind of change (refusals are part of it too)
            assert {"create", "move", "owner", "amount", "project", "close", "reopen", "account",
                    "forecast", "propose"} <= set(done), done
            assert aggregates.differences(MINE) == []
            assert_board_equals_deals(users, projects)
            db.session.execute(text("DELETE FROM agg_board_open"))  # the next history starts from a rebuild
            db.session.commit()
            aggregates.rebuild(MINE)
            assert aggregates.differences(MINE) == []


def test_a_deal_moved_to_another_account_moves_its_totals(app, clean_db, users):
    with app.app_context():
        owner = users["Owner"]
        a, b = _new_account("From", owner).id, _new_account("To", owner).id
        deal, _ = create_opportunity(request_as(owner, {"account_id": str(a), "name": "Moving", "amount_estimate": 500},
                                                evidence_refs=NOTE))
        update_opportunity(request_as(owner, {"account_id": b}, evidence_refs=NOTE), deal.id)
        totals = dict(db.session.execute(select(aggregates.AccountOpenTotal.account_id,
                                                func.sum(aggregates.AccountOpenTotal.amount))
                                         .group_by(aggregates.AccountOpenTotal.account_id)).all())
        assert totals.get(a, 0) == 0 and totals[b] == 500
        assert aggregates.differences(MINE) == []


def test_a_merge_of_accounts_moves_the_totals_and_the_count(app, clean_db, users):
    from app.services.merge import merge_accounts

    with app.app_context():
        owner = users["Owner"]
        a, b = _new_account("Survivor", owner).id, _new_account("Merged away", owner).id
        for account, amount in ((a, 100), (b, 250), (b, 50)):
            create_opportunity(request_as(owner, {"account_id": str(account), "name": "Deal", "amount_estimate": amount},
                                          evidence_refs=NOTE))
        counted = db.session.scalar(select(func.sum(aggregates.AccountCount.accounts)))
        merge_accounts(request_as(owner), a, [b], {})
        assert db.session.scalar(select(func.sum(aggregates.AccountCount.accounts))) == counted - 1
        pipeline = dict(db.session.execute(select(aggregates.AccountPipeline.account_id,
                                                  aggregates.AccountPipeline.amount)).all())
        assert pipeline[a] == 400 and pipeline.get(b, 0) == 0
        assert aggregates.differences(MINE) == []


@pytest.mark.smoke
def test_aggregates_follow_the_verbs_on_either_database(app, clean_db, users):
    """Small and on both databases (the SQLite upsert too): a history, then equal sums."""
    with app.app_context():
        deals, projects, _ = random_history(users, 30, 7)
        assert aggregates.differences(MINE) == []
        f = board.BoardFilters()
        now = datetime.now(timezone.utc)
        assert _normalised(board_sums(f, now)) == _normalised(direct_sums(f, now))


@pytest.mark.skipif(USE_SQLITE, reason="concurrent writers need PostgreSQL")
def test_concurrent_moves_leave_the_aggregates_equal_and_never_deadlock(app, clean_db, users):
    owner = users["Owner"]
    threads_n, per_thread, moves = 4, 3, 8
    with app.app_context():
        account = _new_account("Busy", owner).id
        deals = [create_opportunity(request_as(owner, {"account_id": str(account), "name": f"Hot {i}",
                                                       "amount_estimate": 1000 + i, "owner_user_id": owner},
                                               evidence_refs=NOTE))[0].id for i in range(threads_n * per_thread)]
    errors: list = []
    barrier = threading.Barrier(threads_n)
    due = datetime.now(timezone.utc) + timedelta(days=1)

    def worker(n: int):
        rng = random.Random(n)
        mine = deals[n * per_thread:(n + 1) * per_thread]
        try:
            with app.app_context(), scope.scoped(scope.SYSTEM):
                barrier.wait()
                for i in range(moves):
                    # the same few aggregate keys from every thread, in opposite orders
                    stages = OPEN_STAGES if (n + i) % 2 else list(reversed(OPEN_STAGES))
                    update_opportunity(request_as(owner, {"stage": stages[i % len(stages)],
                                                          "amount_estimate": rng.randint(1, 10**6),
                                                          "next_step_text": "Call", "next_step_due_at": due},
                                                  evidence_refs=NOTE), rng.choice(mine))
                db.session.remove()
        except Exception as exc:  # noqa: BLE001  (a deadlock or anything else fails the test)
            errors.append(repr(exc))

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads_n)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert not any(w.is_alive() for w in workers)
    assert errors == []
    with app.app_context():
        assert aggregates.differences(MINE) == []
        moved = db.session.scalar(select(func.count()).select_from(Opportunity).where(Opportunity.stage != "lead"))
        assert moved > 0


def test_the_cli_repairs_a_corrupted_row_and_check_says_so(app, clean_db, users):
    with app.app_context():
        random_history(users, 20, 3)
        db.session.execute(text("UPDATE agg_board_open SET deals = deals + 5, amount = amount + 1"))
        db.session.execute(text("DELETE FROM agg_account_counts"))
        db.session.commit()
    runner = app.test_cli_runner()
    only = [arg for name in MINE for arg in ("--only", name)]
    before = runner.invoke(args=["crm", "rebuild-aggregates", "--check", *only])
    assert before.exit_code == 1 and "differ" in before.output and "board_open" in before.output
    repaired = runner.invoke(args=["crm", "rebuild-aggregates", *only])
    assert repaired.exit_code == 0 and "rebuilt" in repaired.output
    after = runner.invoke(args=["crm", "rebuild-aggregates", "--check", *only])
    assert after.exit_code == 0, after.output
    unknown = runner.invoke(args=["crm", "rebuild-aggregates", "--only", "nothing"])
    assert unknown.exit_code != 0 and "nothing" in unknown.output


@pytest.mark.skipif(USE_SQLITE, reason="PostgreSQL's planner statistics")
def test_a_rebuild_leaves_fresh_planner_statistics(app, clean_db, users):
    """Without autovacuum (or before it runs) a rebuilt table kept the statistics of the empty one
    and the accounts list was planned for hundreds of rows per account."""
    with app.app_context():
        random_history(users, 10, 2)
        db.session.commit()
        aggregates.rebuild(["account_open"])
        expected = db.session.scalar(text("SELECT count(*) FROM agg_account_open"))
        estimate = db.session.scalar(text("SELECT reltuples FROM pg_class WHERE relname = 'agg_account_open'"))
        db.session.commit()
    assert expected > 0 and estimate == expected


def _seed_deals(app, users, n: int, start: int = 0):
    with app.app_context():
        owner, sales = users["Owner"], users["Sales"]
        account = _new_account(f"Seeded {start}", owner).id
        project = add_project(account, f"Seeded project {start}", members=(owner, sales))
        for i in range(start, start + n):
            create_opportunity(request_as(owner, {
                "account_id": str(account), "name": f"Seeded {i}", "stage": OPEN_STAGES[i % 5],
                "amount_estimate": 100 + i, "owner_user_id": sales if i % 2 else owner,
                "project_id": project if i % 3 == 0 else None, "next_step_text": "Call",
                "next_step_due_at": datetime.now(timezone.utc) + timedelta(days=i % 9 - 3)}, evidence_refs=NOTE))
            if i % 7 == 0:
                deal = db.session.scalar(select(Opportunity.id).where(Opportunity.name == f"Seeded {i}"))
                update_opportunity(request_as(owner, {"stage": "won"}, evidence_refs=NOTE), deal)
        return account


def test_board_and_accounts_list_statements_do_not_grow_with_the_rows(app, client, as_role, clean_db, users):
    _seed_deals(app, users, 10)
    pages = ["/board/?owner=all", f"/board/?owner={users['Sales']}", "/board/summary?owner=all", "/accounts/",
             "/accounts/?order=open_sum", "/accounts/?order=last_touch"]
    counts = {}
    for role in ("Owner", "Sales"):
        as_role(role)
        counts[role] = [count_statements(app, client, page) for page in pages]
    _seed_deals(app, users, 190, start=10)
    for role in ("Owner", "Sales"):
        as_role(role)
        assert [count_statements(app, client, page) for page in pages] == counts[role], role
    with app.app_context():
        assert aggregates.differences(MINE) == []


def test_the_open_pipeline_order_pages_through_every_account_once_biggest_first(app, clean_db, users, monkeypatch):
    """The accounts list ordered by open pipeline: the accounts with deals in the default currency,
    biggest total first, then the others by name — page after page (three per page here, so the
    pages cross from the first kind to the second and end past both), for a viewer who sees every
    project and for Sales users who see every account and none or one project (walked by index,
    a project's deals added to its account) and for a PM who sees two accounts and one project
    (summed per account)."""
    from app.queries import account_pages

    monkeypatch.setattr(account_pages, "LIST_PAGE", 3)
    owner, sales = users["Owner"], users["Sales"]
    with app.app_context():
        names = ["delta", "Alpha", "charlie", "Bravo", "echo", "Foxtrot", "golf", "hotel"]
        ids = {name: _new_account(name, owner).id for name in names}
        project = add_project(ids["golf"], "Golf project", members=(owner,))  # Sales is no member
        deals = [("delta", 500, "RUB", None), ("delta", 100, "RUB", None), ("Alpha", 600, "RUB", None),
                 ("charlie", 600, "RUB", None), ("Bravo", 900, "USD", None), ("echo", 50, "RUB", "won"),
                 ("golf", 1000, "RUB", project), ("golf", 50, "RUB", None), ("hotel", 0, "RUB", None)]
        for i, (name, amount, currency, extra) in enumerate(deals):
            values = {"account_id": str(ids[name]), "name": f"Deal {i}", "stage": "qualified",
                      "amount_estimate": amount, "currency": currency, "next_step_text": "Call",
                      "next_step_due_at": datetime.now(timezone.utc) + timedelta(days=3)}
            if extra and extra != "won":
                values["project_id"] = extra
            deal, _events = create_opportunity(request_as(owner, values, evidence_refs=NOTE))
            if extra == "won":
                update_opportunity(request_as(owner, {"stage": "won"}, evidence_refs=NOTE), deal.id)
        db.session.commit()

        def ranked(totals: dict) -> list[str]:
            return sorted(names, key=lambda n: (-totals.get(n, 0), n.lower(), ids[n]))

        everyone = ranked({"golf": 1050, "Alpha": 600, "charlie": 600, "delta": 600})
        outside_only = ranked({"Alpha": 600, "charlie": 600, "delta": 600, "golf": 50})
        assert everyone[:4] == ["golf", "Alpha", "charlie", "delta"] and outside_only[3:5] == ["golf", "Bravo"]
        sales_scope = scope.Scope(all_projects=False, all_accounts=True, project_ids=())
        member_scope = scope.Scope(all_projects=False, all_accounts=True, project_ids=(project,))
        pm_scope = scope.Scope(all_projects=False, all_accounts=False, project_ids=(project,),
                               account_ids=(ids["golf"], ids["delta"]))  # delta as if via another project
        for view, expected in ((scope.SYSTEM, everyone), (sales_scope, outside_only), (member_scope, everyone),
                               (pm_scope, ["golf", "delta"])):
            with scope.scoped(view):
                seen = []
                for page in range(5):  # 8 accounts: pages 0-2 hold them, 3 and 4 are past the end
                    total, rows = account_pages.account_rows(account_pages.AccountFilters(order="open_sum"), page)
                    assert total == len(expected)
                    seen += [row.name for row in rows]
                assert seen == expected, view
                _, rows = account_pages.account_rows(account_pages.AccountFilters(order="open_sum", search="o"), 0)
                assert [row.name for row in rows] == [n for n in expected if "o" in n.lower()][:3], view
