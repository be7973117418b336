"""Dashboard, report and metrics API times (p50/p95) and SQL statements at a studio's scale, and
the stall CSV's time to its first byte and to its first rows.

    .venv/bin/python -m bench.metrics [opportunities] [repeats]     (default 100000, 20: a fresh database)
    .venv/bin/python -m bench.metrics --db crm_bench_100k [--repeats 20] [--full-csv]   (a kept database:
        run the migrations and `flask crm rebuild-aggregates` on it first)
"""
from __future__ import annotations

import argparse
import time

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench import pages
from bench.generate import ADMIN_URL, create_database, drop_database, generate


def measure(client, url: str, engine, repeats: int, with_floor: bool = True) -> tuple[float, float, int, float]:
    """p50/p95 ms of `repeats` requests (a streamed answer counts until its last byte), the SQL
    statements of one, and the floor: those statements replayed alone on a raw connection."""
    times, count, statements = pages.measure(client, url, engine, repeats)
    return (*pages.p50_p95(times), count, pages.floor(engine, statements, repeats=5) if with_floor else 0.0)


def first_bytes(client, url: str, repeats: int) -> tuple[float, float, float, float]:
    """p50/p95 ms until the CSV's first chunk (its header) and until its first rows arrive."""
    header, rows = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        response = client.get(url, buffered=False)
        chunks = iter(response.response)
        next(chunks)
        header.append((time.perf_counter() - started) * 1000)
        next(chunks, None)
        rows.append((time.perf_counter() - started) * 1000)
        response.close()
    return (*pages.p50_p95(header), *pages.p50_p95(rows))


def run(url: str, repeats: int, full_csv: bool = False) -> None:
    from app import create_app
    from app.extensions import db

    app = create_app(SQLALCHEMY_DATABASE_URI=url, WTF_CSRF_ENABLED=False)
    with app.app_context():
        engine = db.engine
        with engine.connect() as conn:
            counts = {t: conn.execute(text(f"SELECT reltuples::bigint FROM pg_class WHERE relname = '{t}'")).scalar()
                      for t in ("opportunities", "opportunity_events", "projects")}
            project = conn.execute(text(
                "SELECT m.project_id FROM project_members m JOIN ab_user u ON u.id = m.user_id "
                "WHERE u.username = 'pm5' ORDER BY m.project_id LIMIT 1")).scalar()
            owner = conn.execute(text("SELECT id FROM ab_user WHERE username = 'sales2'")).scalar()
    print(f"data (estimated rows): {counts}")
    pages = {
        "owner0": [("dashboard, everyone", "/dashboard/"), ("dashboard, one owner", f"/dashboard/?owner={owner}"),
                   ("dashboard, a PM's project", f"/dashboard/?project={project}"),
                   ("API pipeline", "/api/v1/metrics/pipeline"), ("API aging", "/api/v1/metrics/aging"),
                   ("API win-rate", "/api/v1/metrics/win-rate"), ("API sla", "/api/v1/metrics/sla"),
                   ("why deals stall (page)", "/stall/")] + ([("why deals stall (CSV, all)", "/stall/csv")] if full_csv else []),
        # a Sales user: their own numbers, through the project scope (member of ~50 projects)
        "sales1": [("dashboard, own (project scope)", "/dashboard/"), ("API aging, own", "/api/v1/metrics/aging")],
    }
    for viewer, paths in pages.items():
        client = app.test_client()
        client.post("/login/", data={"username": viewer, "password": "bench-pass-1"})
        client.get("/lang/en")
        print(f"\nviewer {viewer}\n{'page':34} {'p50 ms':>8} {'p95 ms':>8} {'SQL':>5} {'floor ms':>9}")
        for name, path in paths:
            csv = "CSV" in name  # the whole file: a few runs
            p50, p95, statements, sql_ms = measure(client, path, engine, max(3, repeats // 5) if csv else repeats,
                                                   with_floor=not csv)
            print(f"{name:34} {p50:8.1f} {p95:8.1f} {statements:5d} {'' if csv else f'{sql_ms:9.1f}'}")
        if viewer == "owner0":
            h50, h95, r50, r95 = first_bytes(client, "/stall/csv", repeats)
            print(f"{'stall CSV, first byte':34} {h50:8.1f} {h95:8.1f}")
            print(f"{'stall CSV, first 100 rows':34} {r50:8.1f} {r95:8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("opportunities", nargs="?", type=int, default=100_000)
    parser.add_argument("repeats_positional", nargs="?", type=int, default=None, metavar="repeats")
    parser.add_argument("--db", help="a kept database (crm_bench_100k, crm_bench_1m) instead of a fresh one")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--full-csv", action="store_true", help="also time the whole stall CSV (every stalled deal)")
    options = parser.parse_args()
    repeats = options.repeats_positional or options.repeats
    if options.db:
        run(make_url(ADMIN_URL).set(database=options.db).render_as_string(hide_password=False), repeats, options.full_csv)
        return
    url = create_database("crm_bench_metrics")
    try:
        n = options.opportunities
        print(f"data: {generate(url, accounts=max(100, n // 5), opportunities=n, events=n * 10)}")
        from bench.generate import rebuild_aggregates
        print(f"aggregates: {rebuild_aggregates(url)}")
        run(url, repeats, options.full_csv)
    finally:
        drop_database(url)


if __name__ == "__main__":
    main()
