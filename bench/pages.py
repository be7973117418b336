"""Server time (p50/p95) and SQL statements of the board, the accounts list, the account page and
the opportunity page at a studio's scale, on PostgreSQL; "floor" = the same SQL statements the
page ran, replayed alone on a raw connection (what is left is the app: Python, templates).

    .venv/bin/python -m bench.pages [opportunities] [repeats]     (default 100000, 30; scratch database)
    .venv/bin/python -m bench.pages --db crm_bench_1m [repeats]   (a kept database: bench.generate --keep)
"""
from __future__ import annotations

import statistics
import time

from sqlalchemy import create_engine, event, select, text

from bench.generate import create_database, database_url, drop_database, generate, rebuild_aggregates


def floor(engine, statements, repeats: int = 10) -> float:
    """Median ms of the captured statements replayed alone (no ORM, no templates)."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            for statement, parameters in statements:
                cursor.execute(statement, parameters)
                cursor.fetchall() if cursor.description else None
            times.append((time.perf_counter() - started) * 1000)
        raw.rollback()
        return statistics.median(times)
    finally:
        raw.close()


def timed(call, engine, repeats: int) -> tuple[list[float], list]:
    """Times (ms) of `repeats` calls after one warm-up call (caches, compiled templates), and the
    statements (with their parameters) the last call ran."""
    statements = []
    listener = lambda conn, cursor, statement, parameters, *rest: statements.append((statement, parameters))  # noqa: E731
    call()
    times = []
    event.listen(engine, "before_cursor_execute", listener)
    try:
        for _ in range(repeats):
            statements.clear()
            started = time.perf_counter()
            call()
            times.append((time.perf_counter() - started) * 1000)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return times, list(statements)


def measure(client, url: str, engine, repeats: int) -> tuple[list[float], int, list]:
    """Times (ms) of `repeats` requests, the statements of one and those statements themselves."""
    def get():
        response = client.get(url)
        response.get_data()  # a streamed answer (CSV) counts until its last byte
        assert response.status_code == 200, (url, response.status_code)

    times, statements = timed(get, engine, repeats)
    return times, len(statements), statements


def p50_p95(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


class Target:
    """One database to measure: its app, a logged-in client per viewer and the sampled ids."""

    def __init__(self, url: str, label: str):
        from app import create_app, scope
        from app.extensions import db
        from app.models import Account, Opportunity

        self.label = label
        self.app = create_app(SQLALCHEMY_DATABASE_URI=url, WTF_CSRF_ENABLED=False)
        with self.app.app_context(), scope.scoped(scope.SYSTEM):
            account_id = db.session.scalar(select(Opportunity.account_id).limit(1))
            opp_id = db.session.scalar(select(Opportunity.id).where(Opportunity.account_id == account_id).limit(1))
            self.engine = db.engine
            busiest = db.session.scalar(select(Account.id).order_by(Account.name).limit(1))
        self.pages = {"board, everyone (owner)": "/board/?owner=all", "board, one owner": "/board/?owner=2",
                      "board, search": "/board/?owner=all&q=deal 12",
                      "board, more cards": "/board/column/qualified?owner=all&offset=25",
                      "board, search by account": "/board/?owner=all&account=account 12",
                      "accounts list": "/accounts/", "accounts list, by last touch": "/accounts/?order=last_touch",
                      "accounts list, by open pipeline": "/accounts/?order=open_sum",
                      "accounts list, search": "/accounts/?q=account 12",
                      "account page": f"/accounts/{account_id}", "account page (first)": f"/accounts/{busiest}",
                      "opportunity page": f"/opportunities/{opp_id}"}
        self.clients = {}

    def client(self, viewer: str):
        if viewer not in self.clients:
            client = self.app.test_client()
            client.post("/login/", data={"username": viewer, "password": "bench-pass-1"})
            client.get("/lang/en")
            self.clients[viewer] = client
        return self.clients[viewer]


def counts_of(url: str) -> dict:
    engine = create_engine(url)
    with engine.connect() as conn:
        counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                  for t in ("accounts", "opportunities", "projects")}
        counts["opportunity_events (estimate)"] = conn.execute(
            text("SELECT reltuples::bigint FROM pg_class WHERE relname = 'opportunity_events'")).scalar()
    engine.dispose()
    return counts


def main(opportunities: int = 100_000, repeats: int = 30, keep: list[str] | None = None,
         only_pages: list[str] | None = None, viewers: list[str] | None = None) -> None:
    """Measure one scratch database, or kept ones; several kept databases are measured side by
    side, alternating in rounds of a few requests (a busy machine slows both alike)."""
    urls = [database_url(name) for name in keep] if keep else [create_database("crm_bench_pages")]
    try:
        if keep:
            for name, url in zip(keep, urls):
                print(f"data ({name}): {counts_of(url)}")
        else:
            counts = generate(urls[0], accounts=max(100, opportunities // 5), opportunities=opportunities,
                              events=opportunities * 10)
            counts.update(rebuild_aggregates(urls[0]))
            print(f"data: {counts}")
        targets = [Target(url, name) for url, name in zip(urls, keep or ["scratch"])]
        rounds = 1 if len(targets) == 1 else max(1, repeats // 5)
        per_round = repeats // rounds
        # owner0 sees everything (no read scope); sales1 and pm5 see through the project scope
        for viewer in viewers or ("owner0", "sales1", "pm5"):
            head = " | ".join(f"{t.label[:22]:>22} p50 / p95  SQL floor" for t in targets)
            print(f"\nviewer {viewer}\n{'page':32} {head}" + ("   ratio p50" if len(targets) == 2 else ""))
            for name in targets[0].pages:
                if only_pages and name not in only_pages:
                    continue
                path = targets[0].pages[name]
                if viewer == "pm5" and path.startswith(("/accounts/", "/opportunities/")) and len(path) > 20 \
                        and "?" not in path:
                    continue  # the sampled account is not one of the PM's
                results = {t.label: ([], 0, []) for t in targets}
                for _ in range(rounds):
                    for t in targets:
                        times, statements, captured = measure(t.client(viewer), t.pages[name], t.engine, per_round)
                        results[t.label] = (results[t.label][0] + times, statements, captured)
                cells, medians = [], []
                for t in targets:
                    times, statements, captured = results[t.label]
                    p50, p95 = p50_p95(times)
                    medians.append(p50)
                    cells.append(f"{p50:12.1f} / {p95:6.1f} {statements:4d} {floor(t.engine, captured):5.1f}")
                ratio = f"   x{medians[1] / medians[0]:.2f}" if len(medians) == 2 else ""
                print(f"{name:32} {' | '.join(cells)}{ratio}", flush=True)
    finally:
        if not keep:
            drop_database(urls[0])


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.pages")
    parser.add_argument("numbers", nargs="*", type=int, help="[opportunities] [repeats] (with --db: [repeats])")
    parser.add_argument("--db", metavar="NAME", action="append",
                        help="measure a kept database (bench.generate --keep NAME N); twice: side by side")
    parser.add_argument("--page", action="append", metavar="NAME", help="only this page (repeatable), e.g. 'accounts list'")
    parser.add_argument("--viewer", action="append", metavar="USER", help="only this viewer (owner0, sales1, pm5)")
    options = parser.parse_args()
    if options.db:
        main(repeats=options.numbers[0] if options.numbers else 30, keep=options.db, only_pages=options.page,
             viewers=options.viewer)
    else:
        main(*options.numbers[:2], only_pages=options.page, viewers=options.viewer)
