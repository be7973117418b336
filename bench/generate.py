"""Fill a PostgreSQL database with a studio's worth of data, fast (INSERT … SELECT generate_series).

Rows are written with SQL, not the ORM: the audit listener is bypassed on purpose, the events
are generated alongside (a `created` event per deal plus stage/next-step/note history).
"""
from __future__ import annotations

import os
import time
import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def database_url(name: str) -> str:
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def create_database(prefix: str, name: str | None = None) -> str:
    """A fresh, migrated database with the roles and one user per role; returns its URL (a scratch
    name from `prefix`, or exactly `name` for a kept one)."""
    from flask_migrate import upgrade

    from app import create_app
    from app.security import sync_roles_and_permissions

    name = name or f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = database_url(name)
    app = create_app(SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
        sync_roles_and_permissions(app.appbuilder)
        sm = app.appbuilder.sm
        for i, role in enumerate(["Owner", "Sales", "Sales", "Sales", "Sales", "PM"]):
            sm.add_user(username=f"{role.lower()}{i}", first_name=role, last_name=str(i),
                        email=f"{role.lower()}{i}@bench.test", role=sm.find_role(role), password="bench-pass-1")
    return url


def drop_database(url: str) -> None:
    name = make_url(url).database
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


STEPS = [
    # accounts: a third dormant/churned, owners spread over the users
    """INSERT INTO accounts (id, name, domain, segment, status, owner_user_id, icp_fit_score, last_touch_at,
                             created_at, updated_at)
       SELECT gen_random_uuid(), 'Account ' || g, 'account' || g || '.example', (ARRAY['smb','mid','enterprise','custom'])[1 + g % 4],
              (ARRAY['active','active','dormant','churned'])[1 + g % 4], (SELECT array_agg(id) FROM ab_user)[1 + g % :users],
              g % 101, now() - (g % 90) * interval '1 day', now() - interval '400 days', now()
       FROM generate_series(1, :accounts) g""",
    """CREATE TEMP TABLE bench_accounts AS SELECT id, row_number() OVER (ORDER BY id) AS n FROM accounts""",
    # opportunities: stages spread over the funnel, 20% closed in the last year
    """INSERT INTO opportunities (id, account_id, name, stage, status, amount_estimate, currency, probability,
                                  forecast_category, close_date_target, source, owner_user_id, next_step_text,
                                  next_step_due_at, lost_reason, stage_entered_at, closed_at, proposed, version,
                                  created_at, updated_at)
       SELECT gen_random_uuid(), a.id, 'Deal ' || g, s.stage, s.status, (g % 500 + 1) * 10000, 'RUB', s.p, s.fc,
              current_date + (g % 180 - 30), (ARRAY['referral','website','telegram','event','chatwoot'])[1 + g % 5],
              (SELECT array_agg(id) FROM ab_user)[1 + g % :users],
              CASE WHEN s.status = 'open' AND s.stage <> 'lead' THEN 'Call the client' END,
              CASE WHEN s.status = 'open' AND s.stage <> 'lead' THEN now() + ((g % 60) - 20) * interval '1 day' END,
              CASE WHEN s.stage = 'lost' THEN 'Budget cut' END,
              now() - (g % 120) * interval '1 day',
              CASE WHEN s.status <> 'open' THEN now() - (g % 365) * interval '1 day' END,
              false, 1, now() - (g % 400) * interval '1 day', now()
       FROM generate_series(1, :opportunities) g
       JOIN bench_accounts a ON a.n = 1 + g % :accounts
       JOIN (VALUES (0,'lead','open',0.05,'pipeline'), (1,'qualified','open',0.2,'pipeline'),
                    (2,'discovery','open',0.35,'pipeline'), (3,'proposal_sent','open',0.55,'best_case'),
                    (4,'negotiation','open',0.75,'commit'), (5,'won','won',1.0,'commit'), (6,'lost','lost',0.0,'omitted'),
                    (7,'lead','open',0.05,'pipeline'), (8,'qualified','open',0.2,'pipeline'), (9,'discovery','open',0.35,'pipeline'))
            AS s(k, stage, status, p, fc) ON s.k = g % 10""",
    """CREATE TEMP TABLE bench_opps AS SELECT id, stage, owner_user_id, created_at, row_number() OVER (ORDER BY id) AS n FROM opportunities""",
    # events: `per` events for every deal (created, then stage moves, next-step changes and notes)
    """INSERT INTO opportunity_events (id, opportunity_id, event_type, old_value, new_value, actor_user_id,
                                       evidence_refs, created_at, previous_stage_entered_at)
       SELECT gen_random_uuid(), o.id,
              CASE WHEN k = 0 THEN 'created' WHEN k % 3 = 1 THEN 'stage_changed' WHEN k % 3 = 2 THEN 'next_step_changed'
                   ELSE 'note_added' END,
              CASE WHEN k % 3 = 1 THEN jsonb_build_object('stage', 'lead') END,
              CASE WHEN k = 0 THEN jsonb_build_object('name', 'Deal') WHEN k % 3 = 1 THEN jsonb_build_object('stage', o.stage)
                   WHEN k % 3 = 2 THEN jsonb_build_object('next_step_text', 'Call') ELSE jsonb_build_object('text', 'Spoke to the client') END,
              o.owner_user_id,
              CASE WHEN k = 0 THEN '[]'::jsonb ELSE '[{"type": "note", "text": "bench"}]'::jsonb END,
              o.created_at + k * interval '1 day',
              CASE WHEN k % 3 = 1 THEN o.created_at + greatest(k - 3, 0) * interval '1 day' END
       FROM bench_opps o CROSS JOIN generate_series(0, :per - 1) k""",
    """INSERT INTO projects (id, account_id, name, status, created_at, updated_at)
       SELECT gen_random_uuid(), a.id, 'Project ' || a.n, (ARRAY['active','planned','done','paused'])[1 + a.n % 4], now(), now()
       FROM bench_accounts a WHERE a.n % 4 = 0""",
    # a tenth of the deals are upsells inside their account's project; sales1 and pm5 are members of
    # about fifty projects each, whatever the size (the read scope then has real work to do)
    """UPDATE opportunities o SET project_id = p.id FROM projects p
       WHERE p.account_id = o.account_id AND abs(hashtext(o.id::text)) % 10 = 0""",
    """INSERT INTO project_members (id, project_id, user_id, role)
       SELECT gen_random_uuid(), p.id, u.id, CASE WHEN u.username = 'pm5' THEN 'pm' ELSE 'sales' END
       FROM projects p CROSS JOIN ab_user u
       WHERE u.username IN ('sales1', 'pm5')
         AND abs(hashtext(p.id::text)) % greatest(1, (SELECT count(*) FROM projects) / 50) = 0""",
    # a stage change records the owner and project it left the deal with (migration 0012; the
    # dashboard's past stays are counted by them): the append-only trigger paused for this update
    "ALTER TABLE opportunity_events DISABLE TRIGGER opportunity_events_append_only",
    """UPDATE opportunity_events e SET owner_user_id = o.owner_user_id, project_id = o.project_id
       FROM opportunities o WHERE o.id = e.opportunity_id AND e.event_type = 'stage_changed'""",
    "ALTER TABLE opportunity_events ENABLE TRIGGER opportunity_events_append_only",
    "VACUUM ANALYZE",  # what autovacuum does on a live database: fresh statistics and visibility map
]


def generate(url: str, accounts: int = 20_000, opportunities: int = 100_000, events: int = 1_000_000) -> dict:
    """Fill the database at `url`; returns the row counts and the seconds it took."""
    engine = create_engine(url)
    started = time.perf_counter()
    params = {"accounts": accounts, "opportunities": opportunities, "per": max(1, events // max(1, opportunities))}
    with engine.begin() as conn:
        params["users"] = conn.execute(text("SELECT count(*) FROM ab_user")).scalar()
        for step in STEPS[:-1]:
            conn.execute(text(step), params)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(STEPS[-1]))
        counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                  for t in ("accounts", "opportunities", "opportunity_events", "projects")}
    engine.dispose()
    counts["seconds"] = round(time.perf_counter() - started, 1)
    return counts


def rebuild_aggregates(url: str) -> dict:
    """The raw SQL above bypasses the ORM, so the maintained aggregates are recomputed at the end."""
    from app import create_app
    from app.services import aggregates

    app = create_app(SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        started = time.perf_counter()
        rows = aggregates.rebuild()
        return {"aggregate_rows": rows, "rebuild_seconds": round(time.perf_counter() - started, 1)}


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=(
        "Fill a scratch database (dropped at the end), or with --keep NAME build and keep a named one "
        "(accounts = deals / 5, events = deals x 10 unless --events)."))
    parser.add_argument("opportunities", nargs="?", type=int, default=100_000)
    parser.add_argument("--keep", metavar="NAME", help="build this database and keep it (refused if it exists)")
    parser.add_argument("--events", type=int, help="opportunity events in all (default: deals x 10)")
    options = parser.parse_args(argv)
    deals = options.opportunities
    url = create_database("crm_bench_fill", name=options.keep)
    try:
        counts = generate(url, accounts=max(100, deals // 5), opportunities=deals, events=options.events or deals * 10)
        counts.update(rebuild_aggregates(url))
        print(counts if not options.keep else {**counts, "database": options.keep}, flush=True)
    finally:
        if not options.keep:
            drop_database(url)


if __name__ == "__main__":
    main()
