"""Dashboard, report and metrics API times (p50/p95) and SQL statements at a studio's scale.

    .venv/bin/python -m bench.metrics [opportunities] [repeats]     (default 100000, 20)
"""
from __future__ import annotations

import sys

from bench.generate import create_database, drop_database, generate
from bench.pages import measure


def main(opportunities: int = 100_000, repeats: int = 20) -> None:
    from app import create_app
    from app.extensions import db

    url = create_database("crm_bench_metrics")
    try:
        print(f"data: {generate(url, accounts=max(100, opportunities // 5), opportunities=opportunities, events=opportunities * 10)}")
        app = create_app(SQLALCHEMY_DATABASE_URI=url, WTF_CSRF_ENABLED=False)
        with app.app_context():
            engine = db.engine
        client = app.test_client()
        client.post("/login/", data={"username": "owner0", "password": "bench-pass-1"})
        client.get("/lang/en")
        pages = [("dashboard, everyone", "/dashboard/"), ("dashboard, one owner", "/dashboard/?owner=2"),
                 ("why deals stall (page)", "/stall/"), ("why deals stall (CSV)", "/stall/csv"),
                 ("API pipeline", "/api/v1/metrics/pipeline"), ("API aging", "/api/v1/metrics/aging"),
                 ("API win-rate", "/api/v1/metrics/win-rate"), ("API sla", "/api/v1/metrics/sla")]
        print(f"{'page':28} {'p50 ms':>8} {'p95 ms':>8} {'SQL':>5}")
        for name, path in pages:
            p50, p95, statements = measure(client, path, engine, repeats)
            print(f"{name:28} {p50:8.1f} {p95:8.1f} {statements:5d}")
    finally:
        drop_database(url)


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
