"""Server time (p50/p95) and SQL statements of the board, the accounts list, the account page and
the opportunity page at a studio's scale, on PostgreSQL.

    .venv/bin/python -m bench.pages [opportunities] [repeats]     (default 100000, 30)
"""
from __future__ import annotations

import statistics
import sys
import time

from sqlalchemy import event, select

from bench.generate import create_database, drop_database, generate


def measure(client, url: str, engine, repeats: int) -> tuple[float, float, int]:
    counter = []
    listener = lambda *args: counter.append(1)  # noqa: E731
    client.get(url)  # warm caches, compile templates
    times = []
    event.listen(engine, "before_cursor_execute", listener)
    try:
        for _ in range(repeats):
            counter.clear()
            started = time.perf_counter()
            response = client.get(url)
            response.get_data()  # a streamed answer (CSV) counts until its last byte
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], len(counter)


def main(opportunities: int = 100_000, repeats: int = 30) -> None:
    from app import create_app
    from app.extensions import db
    from app import scope
    from app.models import Account, Opportunity

    url = create_database("crm_bench_pages")
    try:
        counts = generate(url, accounts=max(100, opportunities // 5), opportunities=opportunities,
                          events=opportunities * 10)
        print(f"data: {counts}")
        app = create_app(SQLALCHEMY_DATABASE_URI=url, WTF_CSRF_ENABLED=False)
        with app.app_context(), scope.scoped(scope.SYSTEM):
            account_id = db.session.scalar(select(Opportunity.account_id).limit(1))
            opp_id = db.session.scalar(select(Opportunity.id).where(Opportunity.account_id == account_id).limit(1))
            engine = db.engine
            busiest = db.session.scalar(select(Account.id).order_by(Account.name).limit(1))
        pages = [("board, everyone (owner)", "/board/?owner=all"), ("board, one owner", "/board/?owner=2"),
                 ("board, search", "/board/?owner=all&q=deal 12"), ("board, more cards", "/board/column/qualified?owner=all&offset=25"),
                 ("board, search by account", "/board/?owner=all&account=account 12"),
                 ("accounts list", "/accounts/"), ("accounts list, by last touch", "/accounts/?order=last_touch"),
                 ("accounts list, search", "/accounts/?q=account 12"),
                 ("account page", f"/accounts/{account_id}"), ("account page (first)", f"/accounts/{busiest}"),
                 ("opportunity page", f"/opportunities/{opp_id}")]
        # owner0 sees everything (no read scope); sales1 and pm5 see through the project scope
        for viewer in ("owner0", "sales1", "pm5"):
            client = app.test_client()
            client.post("/login/", data={"username": viewer, "password": "bench-pass-1"})
            client.get("/lang/en")
            print(f"\nviewer {viewer}\n{'page':34} {'p50 ms':>8} {'p95 ms':>8} {'SQL':>5}")
            for name, path in pages:
                if viewer == "pm5" and path.startswith(("/accounts/", "/opportunities/")) and len(path) > 20 and "?q=" not in path:
                    continue  # the sampled account is not one of the PM's
                p50, p95, statements = measure(client, path, engine, repeats)
                print(f"{name:34} {p50:8.1f} {p95:8.1f} {statements:5d}")
    finally:
        drop_database(url)


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
