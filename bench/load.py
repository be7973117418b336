"""The load test's driver (issue 17): gunicorn on 127.0.0.1 against PostgreSQL with the 100k data set,
Locust headless (bench/locustfile.py), the numbers, then the consistency checks.

    make load                                   # 50 users for 2 minutes, then the saturation steps
    .venv/bin/python -m bench.load --users 50 --run-time 120 --steps 10,25,50,75,100,150,200 --step-time 45
    .venv/bin/python -m bench.load --steps ''   # no saturation steps

Users arrive at --spawn-rate per second (2). The main run counts every request, logins included;
each saturation step first lets its users arrive, then measures --step-time seconds of the steady
state.

The database: `--database NAME` (a kept one, e.g. crm_bench_100k), else crm_bench_100k when it exists
and holds deals, else a small scratch database generated for the run (2,000 accounts, 10,000 deals,
100,000 events; dropped at the end). A kept database is brought to `upgrade head` and its maintained
aggregates rebuilt first (they are also checked against a recomputation at the end).

What it prints: the machine's load average before and after; per endpoint the requests, requests/s,
p50/p95/p99 (ms) and failures; the errors; the consistency checks (every acknowledged move has its
stage_changed row and the deal ends in the stage of its last acknowledged move, notes written =
notes acknowledged, webhook messages stored = messages added, no deal or account created or lost,
maintained aggregates equal to a recomputation); and, per saturation step, users → requests/s and
p95, with the requests/s at which the p95 of all requests crosses 300 ms.

Traffic goes only to 127.0.0.1; every Locust run is bounded by --run-time (and killed 60 s after it
if it hangs) and every Locust user by CRM_LOAD_MAX_TASKS tasks. Exit code 1 when a check fails or a
request failed.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parent.parent
KEPT = "crm_bench_100k"
THRESHOLD_MS = 300
APPLICATION_NAME = "crm_load_test"  # marks the app's connections (CPU accounting of its backends)
CW_SECRET = "load-cw-secret"
TG_SECRET = "load-tg-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def log(message: str) -> None:
    print(message, flush=True)


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_seconds(pids) -> float:
    """User + system CPU seconds the processes used so far (Linux /proc)."""
    total = 0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def database_backends(engine) -> list[int]:
    """The PostgreSQL backends serving the app under test (its application_name)."""
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
                                 {"name": APPLICATION_NAME}).scalars())


# ---- the database -------------------------------------------------------------------------------

def _exists_with_deals(name: str) -> bool:
    from bench.generate import ADMIN_URL, database_url

    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
                return False
    finally:
        admin.dispose()
    engine = create_engine(database_url(name))
    try:
        with engine.connect() as conn:
            return bool(conn.execute(text("SELECT EXISTS (SELECT 1 FROM opportunities)")).scalar())
    except Exception:  # noqa: BLE001 - not filled yet
        return False
    finally:
        engine.dispose()


def prepare_kept(url: str) -> None:
    """`upgrade head`, the roles, and a rebuild of the maintained aggregates (schemas change)."""
    from flask_migrate import upgrade

    from app import create_app
    from app.security import sync_roles_and_permissions

    from flask_appbuilder import Model
    from sqlalchemy import inspect

    from app.extensions import db

    app = create_app(SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
        sync_roles_and_permissions(app.appbuilder)
        missing = sorted(set(Model.metadata.tables) - set(inspect(db.engine).get_table_names()))
        if missing:  # a kept database stamped at head while a slot was still empty (see the contract)
            db.engine.dispose()
            raise SystemExit(f"the database lacks the tables {', '.join(missing)} although it is at head: apply "
                             "their migration slot to it first (bench databases built while a slot was empty)")
        try:
            from app.services import aggregates
        except ImportError:
            aggregates = None
        if aggregates is not None and hasattr(aggregates, "rebuild"):
            started = time.perf_counter()
            rows = aggregates.rebuild()
            log(f"  aggregates rebuilt: {rows} rows in {time.perf_counter() - started:.1f} s")
        db.engine.dispose()


def prepare_database(options) -> tuple[str, str, bool]:
    """(URL, label, scratch?)."""
    from bench.generate import create_database, database_url, generate

    name = options.database or (KEPT if not options.scratch and _exists_with_deals(KEPT) else None)
    if name and not _exists_with_deals(name):
        raise SystemExit(f"database {name!r} does not exist or holds no deals (python -m bench.generate --keep {name})")
    if name:
        url = database_url(name)
        log(f"database: {name} (kept): upgrade head and rebuild aggregates …")
        prepare_kept(url)
        return url, name, False
    log(f"database: a small scratch one ({options.small} deals; {KEPT} " + ("not used" if options.scratch else "is not there yet") + ") …")
    url = create_database("crm_load")
    counts = generate(url, accounts=max(100, options.small // 5), opportunities=options.small, events=options.small * 10)
    try:
        from bench.generate import rebuild_aggregates
        counts.update(rebuild_aggregates(url))
    except ImportError:
        pass
    log(f"  {counts}")
    return url, f"scratch ({options.small} deals)", True


def counts(engine) -> dict:
    """Row counts the checks compare before and after (audit rows of the load users by kind)."""
    with engine.connect() as conn:
        row = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()
               for t in ("accounts", "opportunities", "inbound_messages")}
        for kind in ("stage_changed", "note_added"):
            row[kind] = conn.execute(text(
                "SELECT count(*) FROM opportunity_events e JOIN ab_user u ON u.id = e.actor_user_id "
                "WHERE e.event_type = :kind AND u.username = ANY(:users)"), {"kind": kind, "users": LOAD_USERS}).scalar()
    return row


LOAD_USERS = os.environ.get("CRM_LOAD_USERS", "sales1,sales2,sales3,sales4,owner0").split(",")


# ---- gunicorn -----------------------------------------------------------------------------------

class Server:
    """gunicorn as run.py starts it, on a free port of 127.0.0.1, stopped at the end whatever happens."""

    def __init__(self, url: str, workers: int, threads: int, log_dir: Path):
        from run import gunicorn_command

        self.port = free_port()
        separator = "&" if "?" in url else "?"
        env = {**os.environ, "DATABASE_URL": f"{url}{separator}application_name={APPLICATION_NAME}", "SECRET_KEY": "load-test-secret-key-of-thirty-two-bytes-or-more", "GUNICORN_THREADS": str(threads),
               "WEB_CONCURRENCY": str(workers), "CHATWOOT_WEBHOOK_SECRET": CW_SECRET,
               "TELEGRAM_WEBHOOK_SECRET": TG_SECRET, "CRM_INSTANCE_DIR": str(log_dir)}
        env.pop("MIGRATION_DATABASE_URL", None)
        self.log_path = log_dir / "gunicorn.log"
        self.log_file = open(self.log_path, "w")
        command = gunicorn_command("127.0.0.1", self.port, workers, threads, access_log=None)
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log_file, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        self.url = f"http://127.0.0.1:{self.port}"
        self.engine = create_engine(url, poolclass=NullPool)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.url}/login/", timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer within 90 s: see {self.log_path}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # the master stops its workers
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log_file.close()
        self.engine.dispose()


# ---- Locust -------------------------------------------------------------------------------------

def run_locust(server: Server, users: int, seconds: int, work: Path, label: str, max_tasks: int,
               spawn_rate: float, steady: bool = False) -> dict:
    """One headless Locust run: users arrive at `spawn_rate` per second. The main run counts every
    request, logins included, for `seconds`. A saturation step (`steady`) first lets every user
    arrive, then restarts the numbers (--reset-stats) and measures `seconds` of the steady state."""
    prefix = work / label
    ledger = work / f"{label}.ledger.json"
    env = {**os.environ, "CRM_LOAD_LEDGER": str(ledger), "CRM_LOAD_RUN": uuid.uuid4().hex[:8],
           "CHATWOOT_WEBHOOK_SECRET": CW_SECRET, "TELEGRAM_WEBHOOK_SECRET": TG_SECRET,
           "CRM_LOAD_MAX_TASKS": str(max_tasks), "CRM_LOAD_USERS": ",".join(LOAD_USERS)}
    if steady:
        seconds += math.ceil(users / spawn_rate)
    command = [str(Path(sys.executable).parent / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
               "-u", str(users), "-r", str(spawn_rate), "-t", f"{seconds}s", "--host", server.url,
               "--csv", str(prefix), "--only-summary", "--stop-timeout", "10", "--loglevel", "WARNING",
               "--exit-code-on-error", "0"] + (["--reset-stats"] if steady else [])
    before = load_average()
    workers = children(server.process.pid)
    app_cpu = cpu_seconds(workers)
    backends = {pid: cpu_seconds([pid]) for pid in database_backends(server.engine)}
    locust_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    locust_cpu = locust_cpu.ru_utime + locust_cpu.ru_stime
    with open(work / f"{label}.locust.log", "w") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            process.wait(timeout=seconds + 60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise RuntimeError(f"Locust did not stop by itself: see {work / f'{label}.locust.log'}")
    app_cpu = cpu_seconds(workers) - app_cpu
    db_cpu = sum(cpu_seconds([pid]) - backends.get(pid, 0.0) for pid in database_backends(server.engine))
    locust_cpu = sum(getattr(resource.getrusage(resource.RUSAGE_CHILDREN), f) for f in ("ru_utime", "ru_stime")) - locust_cpu
    stats = read_stats(Path(f"{prefix}_stats.csv"))
    failures = read_failures(Path(f"{prefix}_failures.csv"))
    requests = all_requests(Path(f"{prefix}_stats_history.csv"))
    result = {"users": users, "seconds": seconds, "load_before": before, "load_after": load_average(),
              "stats": stats, "failures": failures,
              "cpu": {"requests": requests, "app_s": round(app_cpu, 1), "db_s": round(db_cpu, 1),
                      "locust_s": round(locust_cpu, 1)},
              "ledger": json.loads(ledger.read_text()) if ledger.exists() else None}
    return result


def all_requests(path: Path) -> int:
    """Requests of the whole run, the ramp-up included (--reset-stats restarts the count once)."""
    if not path.exists():
        return 0
    total = last = 0
    with open(path) as handle:
        for row in csv.DictReader(handle):
            if row["Name"] != "Aggregated":
                continue
            count = int(row["Total Request Count"])
            if count < last:
                total += last
            last = count
    return total + last


def read_stats(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path) as handle:
        return [{"name": _name(row),
                 "requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
                 "rps": float(row["Requests/s"]), "p50": _ms(row["50%"]), "p95": _ms(row["95%"]),
                 "p99": _ms(row["99%"]), "max": _ms(row["Max Response Time"])}
                for row in csv.DictReader(handle)]


def _name(row: dict) -> str:
    name = row["Name"]
    if name == "Aggregated" or name.split(" ")[0] in ("GET", "POST", "PATCH", "PUT", "DELETE"):
        return name
    return f"{row['Type']} {name}"


def _ms(value: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def read_failures(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path) as handle:
        return list(csv.DictReader(handle))


def print_run(result: dict) -> None:
    log(f"\n{result['users']} users for {result['seconds']} s (load average before {result['load_before']}, "
        f"after {result['load_after']})")
    log(f"{'endpoint':<52} {'reqs':>6} {'req/s':>7} {'p50':>6} {'p95':>6} {'p99':>6} {'fail':>5}")
    for row in result["stats"]:
        mark = "  > 300 ms" if row["p95"] > THRESHOLD_MS and row["name"] != "Aggregated" else ""
        log(f"{row['name'][:52]:<52} {row['requests']:>6} {row['rps']:>7.1f} {row['p50']:>6.0f} {row['p95']:>6.0f} "
            f"{row['p99']:>6.0f} {row['failures']:>5}{mark}")
    cpu = result.get("cpu") or {}
    if cpu.get("requests"):
        per = {k: 1000 * cpu[k] / cpu["requests"] for k in ("app_s", "db_s", "locust_s")}
        log(f"CPU per request (whole run, {cpu['requests']} requests): app {per['app_s']:.0f} ms, PostgreSQL "
            f"{per['db_s']:.0f} ms, Locust {per['locust_s']:.0f} ms → on {os.cpu_count()} idle cores the app and its "
            f"database would serve at most ~{os.cpu_count() * 1000 / max(1e-9, per['app_s'] + per['db_s'] + per['locust_s']):.0f} req/s")
    errors = sum(int(f.get("Occurrences", 0)) for f in result["failures"])
    log(f"errors: {errors}")
    for failure in result["failures"][:10]:
        log(f"  {failure.get('Method')} {failure.get('Name')}: {failure.get('Error', '')[:160]} × {failure.get('Occurrences')}")
    ledger = result["ledger"] or {}
    if ledger:
        log(f"moves acknowledged: {len(ledger['moves'])}, version conflicts (409) reloaded and retried: "
            f"{ledger['conflicts']} ({ledger['conflicts_retried']} went through on the retry), "
            f"notes acknowledged: {len(ledger['notes'])}, webhook deliveries: {ledger['webhooks']['sent']} "
            f"(stored {ledger['webhooks']['stored']}, already known {ledger['webhooks']['known']})")


def endpoint_costs(server: "Server", rounds: int = 5) -> list[tuple[str, float, float, float]]:
    """CPU per request of each page, one request at a time as sales1 (after a warm-up): (name, app
    ms, PostgreSQL ms, wall ms). CPU time hardly depends on what else runs on the machine, so this
    says what the pages cost wherever they run."""
    import re

    import requests

    browser = requests.Session()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', browser.get(f"{server.url}/login/").text).group(1)
    browser.post(f"{server.url}/login/", data={"username": "sales1", "password": "bench-pass-1", "csrf_token": token})
    api = {"Accept": "application/json"}
    deal = browser.get(f"{server.url}/api/v1/opportunities/?owner=me&status=open&page_size=1", headers=api).json()["result"][0]
    pages = [("/board/?owner=all", "/board/?owner=all", None), ("/board/ (own)", "/board/?owner=me", None),
             ("/board/?q=", "/board/?owner=all&q=Deal 42", None), ("/accounts/", "/accounts/", None),
             ("/accounts/?q=", "/accounts/?q=Account 42", None), ("/accounts/[id]", f"/accounts/{deal['account_id']}", None),
             ("/opportunities/[id]", f"/opportunities/{deal['id']}", None), ("/dashboard/", "/dashboard/", None),
             ("/api/v1/opportunities/?stage=", "/api/v1/opportunities/?owner=me&stage=discovery&page_size=25", api),
             ("/board/summary", "/board/summary?owner=me", api), ("/login/ (page)", "/login/", None)]
    workers = children(server.process.pid)
    rows = []
    for name, url, headers in pages:
        browser.get(server.url + url, headers=headers)  # warm-up
        app0, backends = cpu_seconds(workers), {p: cpu_seconds([p]) for p in database_backends(server.engine)}
        started = time.perf_counter()
        for _ in range(rounds):
            browser.get(server.url + url, headers=headers)
        wall = (time.perf_counter() - started) / rounds
        app = (cpu_seconds(workers) - app0) / rounds
        db = sum(cpu_seconds([p]) - backends.get(p, 0.0) for p in database_backends(server.engine)) / rounds
        rows.append((name, app * 1000, db * 1000, wall * 1000))
    log(f"\nCPU per request, one at a time as sales1 ({rounds} each, load average {load_average()}):")
    log(f"{'page':<34} {'app ms':>7} {'db ms':>6} {'wall ms':>8}")
    for name, app, db, wall in rows:
        log(f"{name:<34} {app:>7.0f} {db:>6.0f} {wall:>8.0f}")
    return rows


def aggregate_row(result: dict) -> dict:
    return next((r for r in result["stats"] if r["name"] == "Aggregated"), {"rps": 0.0, "p95": 0.0, "requests": 0})


# ---- consistency --------------------------------------------------------------------------------

def check(engine, url: str, before: dict, ledgers: list[dict]) -> list[str]:
    """Problems found after the runs (empty = consistent)."""
    problems = []
    after = counts(engine)
    moves = [m for ledger in ledgers for m in ledger["moves"]]
    notes = [n for ledger in ledgers for n in ledger["notes"]]
    stored = sum(ledger["webhooks"]["stored"] for ledger in ledgers)
    # requests still in flight when a run stopped: the server may have done them, nobody saw the answer
    pending = {kind: sum(ledger.get("pending", {}).get(kind, 0) for ledger in ledgers)
               for kind in ("moves", "notes", "webhooks")}
    with engine.connect() as conn:
        event_ids = [e for m in moves for e in m["events"]]
        found = conn.execute(text("SELECT count(*) FROM opportunity_events WHERE event_type = 'stage_changed' "
                                  "AND id = ANY(CAST(:ids AS uuid[]))"), {"ids": event_ids}).scalar() if event_ids else 0
        if len(event_ids) != len(moves) or found != len(moves):
            problems.append(f"moves acknowledged {len(moves)}, stage_changed ids returned {len(event_ids)}, "
                            f"found in the audit {found}")
        if not len(moves) <= after["stage_changed"] - before["stage_changed"] <= len(moves) + pending["moves"]:
            problems.append(f"stage_changed rows added by the load users: {after['stage_changed'] - before['stage_changed']}, "
                            f"moves acknowledged: {len(moves)} (+{pending['moves']} unanswered when the run stopped)")
        last: dict[str, dict] = {}
        for move in moves:
            if move["id"] not in last or move["version"] > last[move["id"]]["version"]:
                last[move["id"]] = move
        if last:
            rows = dict(conn.execute(text("SELECT id::text, stage FROM opportunities WHERE id = ANY(CAST(:ids AS uuid[]))"),
                                     {"ids": list(last)}).all())
            wrong = [i for i, m in last.items() if rows.get(i) != m["stage"]]
            if wrong:
                problems.append(f"{len(wrong)} deals are not in the stage of their last acknowledged move")
        notes_found = conn.execute(text("SELECT count(*) FROM opportunity_events WHERE event_type = 'note_added' "
                                        "AND id = ANY(CAST(:ids AS uuid[]))"), {"ids": notes}).scalar() if notes else 0
        if notes_found != len(notes) or not (
                len(notes) <= after["note_added"] - before["note_added"] <= len(notes) + pending["notes"]):
            problems.append(f"notes acknowledged {len(notes)}, found by id {notes_found}, note rows added by the load "
                            f"users {after['note_added'] - before['note_added']}")
    if not stored <= after["inbound_messages"] - before["inbound_messages"] <= stored + pending["webhooks"]:
        problems.append(f"inbound messages added {after['inbound_messages'] - before['inbound_messages']}, "
                        f"stored by the webhooks {stored}")
    for table in ("accounts", "opportunities"):
        if after[table] != before[table]:
            problems.append(f"{table}: {before[table]} before, {after[table]} after (the day creates none)")
    problems += aggregates_check(url)
    if any(pending.values()):
        log(f"unanswered when a run stopped (allowed either way): {pending}")
    log(f"\nconsistency: {len(moves)} moves, {len(notes)} notes, {stored} webhook messages; rows now {after['accounts']} "
        f"accounts, {after['opportunities']} deals, {after['inbound_messages']} inbound messages")
    return problems


def aggregates_check(url: str) -> list[str]:
    """`flask crm rebuild-aggregates --check` (the aggregates engineer's command) on the database."""
    env = {**os.environ, "DATABASE_URL": url, "FLASK_APP": "app:create_app"}
    env.pop("MIGRATION_DATABASE_URL", None)
    flask = str(Path(sys.executable).parent / "flask")
    done = subprocess.run([flask, "crm", "rebuild-aggregates", "--check"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    output = (done.stdout + done.stderr).strip()
    if "No such command" in output:
        log("aggregates: `flask crm rebuild-aggregates --check` is not there yet (not checked)")
        return []
    if done.returncode != 0:
        return [f"maintained aggregates differ from a recomputation: {output[-600:]}"]
    log("aggregates: `flask crm rebuild-aggregates --check` clean")
    return []


# ---- saturation ---------------------------------------------------------------------------------

def saturation(steps: list[dict]) -> str:
    """The requests/s at which the p95 of all requests crosses 300 ms (linear between the steps)."""
    below = None
    for step in steps:
        row = aggregate_row(step)
        if row["p95"] > THRESHOLD_MS:
            if below is None:
                return f"p95 already {row['p95']:.0f} ms at {row['rps']:.1f} req/s ({step['users']} users)"
            low = aggregate_row(below)
            share = (THRESHOLD_MS - low["p95"]) / max(1e-9, row["p95"] - low["p95"])
            rps = low["rps"] + share * (row["rps"] - low["rps"])
            return (f"p95 crosses 300 ms at about {rps:.1f} req/s (between {below['users']} users: "
                    f"{low['rps']:.1f} req/s, p95 {low['p95']:.0f} ms and {step['users']} users: "
                    f"{row['rps']:.1f} req/s, p95 {row['p95']:.0f} ms)")
        below = step
    if below is None:
        return "no steps run"
    row = aggregate_row(below)
    return f"p95 stayed under 300 ms up to {row['rps']:.1f} req/s ({below['users']} users)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help=f"a kept database name (default: {KEPT} when it is there)")
    parser.add_argument("--scratch", action="store_true", help="a small scratch database even when the kept one is there")
    parser.add_argument("--small", type=int, default=10_000, help="deals of the scratch database otherwise")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--run-time", type=int, default=120, help="seconds of the main run")
    parser.add_argument("--spawn-rate", type=float, default=2.0,
                        help="users arriving per second (50 users: all in within 25 s)")
    parser.add_argument("--steps", default="10,25,50,75,100,150,200",
                        help="users per saturation step, stopping at the first whose p95 crosses 300 ms ('' for none)")
    parser.add_argument("--step-time", type=int, default=45, help="seconds per saturation step")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("GUNICORN_THREADS", "4")))
    parser.add_argument("--max-tasks", type=int, default=400, help="tasks per Locust user at most")
    parser.add_argument("--no-costs", dest="costs", action="store_false",
                        help="skip the CPU cost of each page measured one request at a time")
    parser.add_argument("--json", help="also write the results to this file")
    options = parser.parse_args(argv)

    log(f"load average at the start: {load_average()} ({os.cpu_count()} cores)")
    url, label, scratch = prepare_database(options)
    engine = create_engine(url)
    work = Path(tempfile.mkdtemp(prefix="crm-load-"))
    server = None
    results: dict = {"database": label, "workers": options.workers, "threads": options.threads}
    try:
        before = counts(engine)
        server = Server(url, options.workers, options.threads, work)
        log(f"gunicorn on {server.url}: {options.workers} workers × {options.threads} threads, pool per process "
            f"{options.threads} + overflow (config.py); logs in {work}")
        if options.costs:
            results["costs"] = endpoint_costs(server)
        main_run = run_locust(server, options.users, options.run_time, work, "main", options.max_tasks,
                              options.spawn_rate)
        print_run(main_run)
        results["main"] = main_run
        steps = []
        for users in [int(u) for u in options.steps.split(",") if u.strip()]:
            step = run_locust(server, users, options.step_time, work, f"step{users}", options.max_tasks,
                              options.spawn_rate, steady=True)
            print_run(step)
            steps.append(step)
            if aggregate_row(step)["p95"] > THRESHOLD_MS:
                break  # the saturation point is found: more users would only queue (and load a shared machine)
        results["steps"] = steps
        server.stop()
        server = None
        ledgers = [r["ledger"] for r in [main_run, *steps] if r["ledger"]]
        problems = check(engine, url, before, ledgers)
        for problem in problems:
            log(f"INCONSISTENT: {problem}")
        if not problems:
            log("consistent: audit rows, notes, messages, row counts" + " and aggregates")
        main_row = aggregate_row(main_run)
        errors = sum(r["failures"] for r in main_run["stats"] if r["name"] == "Aggregated")
        slow = [r["name"] for r in main_run["stats"] if r["name"] != "Aggregated" and r["p95"] > THRESHOLD_MS]
        log(f"\nSUMMARY ({label}, {options.workers} workers × {options.threads} threads): {options.users} users: "
            f"{main_row['rps']:.1f} req/s, p95 {main_row['p95']:.0f} ms, errors {errors}; endpoints over 300 ms p95: "
            f"{', '.join(slow) or 'none'}")
        if steps:
            log("saturation: " + "; ".join(f"{s['users']} users {aggregate_row(s)['rps']:.1f} req/s p95 "
                                            f"{aggregate_row(s)['p95']:.0f} ms" for s in steps))
            results["saturation"] = saturation(steps)
            log(results["saturation"])
        log(f"load average at the end: {load_average()}")
        results["problems"] = problems
        if options.json:
            Path(options.json).write_text(json.dumps(results, indent=1, default=str))
        return 1 if problems or errors else 0
    finally:
        if server is not None:
            server.stop()
        engine.dispose()
        if scratch:
            from bench.generate import drop_database
            drop_database(url)


if __name__ == "__main__":
    sys.exit(main())
