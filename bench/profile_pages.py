"""Where a page's time goes: app CPU per request of some pages, or a cProfile of one, as a given
user against a kept database (bench.generate --keep NAME N), through the Flask test client.

    .venv/bin/python -m bench.profile_pages --db crm_bench_100k --user owner0 --cpu            # CPU ms per page
    .venv/bin/python -m bench.profile_pages --db crm_bench_100k --user sales1 --cpu /board/
    .venv/bin/python -m bench.profile_pages --db crm_bench_100k --user owner0 /board/?owner=all  # cProfile, top 40
    options: --repeats N (20), --lang ru|en (the user's default when omitted), --top N, --sort cumulative|tottime,
             --dump FILE (write the raw profile for snakeviz / pstats)

"CPU ms" is time.process_time() of this process around the requests (the app's Python: routing,
queries' ORM work, templates), i.e. what a gunicorn worker spends on a request; the database's own
time is not included. The first request of each page is a warm-up (templates compiled, caches filled).
"""
from __future__ import annotations

import cProfile
import io
import pstats
import time

from sqlalchemy import select


def default_pages(app) -> dict[str, str]:
    from app import scope
    from app.extensions import db
    from app.models import Opportunity

    with app.app_context(), scope.scoped(scope.SYSTEM):
        account_id = db.session.scalar(select(Opportunity.account_id).order_by(Opportunity.account_id).limit(1))
        opp_id = db.session.scalar(select(Opportunity.id).where(Opportunity.account_id == account_id).limit(1))
    return {"board, everyone": "/board/?owner=all", "board, mine": "/board/?owner=me", "accounts list": "/accounts/",
            "account page": f"/accounts/{account_id}", "opportunity page": f"/opportunities/{opp_id}",
            "dashboard": "/dashboard/"}


def client_for(app, user: str, password: str, lang: str | None):
    client = app.test_client()
    response = client.post("/login/", data={"username": user, "password": password})
    assert response.status_code in (200, 302), response.status_code
    if lang:
        client.get(f"/lang/{lang}")
    return client


def get(client, url: str) -> None:
    response = client.get(url)
    response.get_data()
    assert response.status_code == 200, (url, response.status_code)


def cpu_ms(client, url: str, repeats: int) -> tuple[float, float]:
    """(CPU ms, wall ms) per request, after one warm-up request."""
    get(client, url)
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(repeats):
        get(client, url)
    return (time.process_time() - cpu) * 1000 / repeats, (time.perf_counter() - wall) * 1000 / repeats


def profile(client, url: str, repeats: int, top: int, sort: str, dump: str | None) -> None:
    get(client, url)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(repeats):
        get(client, url)
    profiler.disable()
    if dump:
        profiler.dump_stats(dump)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(sort).print_stats(top)
    print(out.getvalue())


def main() -> None:
    import argparse

    from app import create_app
    from bench.generate import database_url

    parser = argparse.ArgumentParser(prog="python -m bench.profile_pages")
    parser.add_argument("urls", nargs="*", help="pages (default with --cpu: board, accounts, account, opportunity, dashboard)")
    parser.add_argument("--db", default="crm_bench_100k", help="a kept database's name")
    parser.add_argument("--user", default="owner0")
    parser.add_argument("--password", default="bench-pass-1")
    parser.add_argument("--lang", default=None, help="ru or en (default: the app's default)")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--cpu", action="store_true", help="print CPU ms per request instead of a profile")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--dump", default=None)
    options = parser.parse_args()

    app = create_app(SQLALCHEMY_DATABASE_URI=database_url(options.db), WTF_CSRF_ENABLED=False)
    client = client_for(app, options.user, options.password, options.lang)
    pages = {url: url for url in options.urls} if options.urls else default_pages(app)
    if options.cpu:
        print(f"{options.db}, {options.user}, {options.repeats} requests each")
        for name, url in pages.items():
            cpu, wall = cpu_ms(client, url, options.repeats)
            print(f"{name:24} {cpu:7.1f} ms CPU {wall:7.1f} ms wall   {url}", flush=True)
    else:
        for url in pages.values():
            print(f"== {url} ({options.user}, {options.repeats} requests)")
            profile(client, url, options.repeats, options.top, options.sort, options.dump)


if __name__ == "__main__":
    main()
