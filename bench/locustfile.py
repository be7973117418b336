"""A studio's day under load (issue 17): Locust users that log in and work like the team does.

    make load                                   # the driver: gunicorn + this file + checks (bench/load.py)
    .venv/bin/locust -f bench/locustfile.py --headless -u 50 -r 10 -t 2m --host http://127.0.0.1:8080

Who:
* `StudioUser` (most users): logs in through the form (CSRF token and all), then opens the board
  (everyone's and their own), searches it (`q=`), the accounts list and its search, account and
  opportunity pages, now and then the dashboard, filters deals through the API, moves a deal as
  the move dialog does (PATCH /api/v1/opportunities/<id> with the version read and evidence, then
  /board/summary) and adds notes.
* `ApiClient`: a script of the studio with a JWT (POST /api/v1/security/login): the API filter,
  reading a deal, moves and notes over the API.
* `WebhookSender`: Chatwoot and Telegram delivering signed messages (unique ids per run).

Every user waits between(1, 3) s between tasks. Traffic goes only to 127.0.0.1/localhost (any
other host is refused at start) and every user stops by itself after CRM_LOAD_MAX_TASKS tasks; the
run itself is bounded by Locust's --run-time.

A stale version (409) is handled like a user would: reload the deal's version and retry once. The
409 is then not counted as a failure (it is the optimistic lock doing its job, and the user's move
goes through); it is counted in the ledger as a conflict. A second 409 in a row is a failure.

At the end the ledger (moves acknowledged with their stage_changed event ids, notes acknowledged,
webhook messages stored, conflicts) is written as JSON to CRM_LOAD_LEDGER, for bench/load.py's
consistency checks.
"""
from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import random
import re
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from locust import FastHttpUser, between, events, task
from locust.exception import StopUser

PASSWORD = os.environ.get("CRM_LOAD_PASSWORD", "bench-pass-1")
WRITERS = [u for u in os.environ.get("CRM_LOAD_USERS", "sales1,sales2,sales3,sales4,owner0").split(",") if u]
MAX_TASKS = int(os.environ.get("CRM_LOAD_MAX_TASKS", "300"))
CHATWOOT_SECRET = os.environ.get("CHATWOOT_WEBHOOK_SECRET", "load-cw-secret")
TELEGRAM_SECRET = os.environ.get("TELEGRAM_WEBHOOK_SECRET", "load-tg-secret")
LEDGER_PATH = os.environ.get("CRM_LOAD_LEDGER")
RUN = os.environ.get("CRM_LOAD_RUN") or uuid.uuid4().hex[:8]
MOVABLE = ("qualified", "discovery", "proposal_sent", "negotiation")
SEARCHES = ("Deal 1", "Deal 42", "Deal 77", "Deal 123", "Deal 999")
ACCOUNT_SEARCHES = ("Account 1", "Account 42", "account7", "Account 12", "Account 300")
EVIDENCE = ({"type": "note", "text": "Call with the client: they agreed to the next step"},
            {"type": "url", "url": "https://mail.example/thread/42"})
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
MOVE_CSRF = re.compile(r'"csrf":\s*"([^"]+)"')
LOCAL_HOSTS = ("127.0.0.1", "localhost")

_lock = threading.Lock()
_ledger = {"run": RUN, "moves": [], "notes": [], "conflicts": 0, "conflicts_retried": 0,
           "webhooks": {"sent": 0, "stored": 0, "known": 0},
           "pending": {"moves": 0, "notes": 0, "webhooks": 0}}  # sent, no answer seen (yet)
_users = itertools.cycle(WRITERS)
_message_ids = itertools.count(1)


class _Pending:
    """A write on its way: counted until its answer is seen (a run that stops meanwhile leaves it)."""

    def __init__(self, kind: str):
        self.kind = kind

    def __enter__(self):
        with _lock:
            _ledger["pending"][self.kind] += 1

    def __exit__(self, exc_type, *_exc):
        if exc_type is None:  # answered; a user stopped mid-request (GreenletExit) leaves it pending
            with _lock:
                _ledger["pending"][self.kind] -= 1


def _record(kind: str, value) -> None:
    with _lock:
        if kind in ("moves", "notes"):
            _ledger[kind].append(value)
        elif kind == "webhook":
            hooks = _ledger["webhooks"]
            hooks["sent"] += 1
            hooks["stored"] += value.get("stored", 0)
            hooks["known"] += value.get("known", 0)
        else:
            _ledger[kind] += value


@events.test_start.add_listener
def _only_local(environment, **_kw):
    host = urlsplit(environment.host or "").hostname
    if host not in LOCAL_HOSTS:
        raise SystemExit(f"bench/locustfile.py sends traffic only to 127.0.0.1 (got {environment.host!r})")


@events.test_stop.add_listener
def _write_ledger(environment, **_kw):
    if LEDGER_PATH:
        with _lock, open(LEDGER_PATH, "w") as out:
            json.dump(_ledger, out)


def _next_step_due() -> str:
    return (datetime.now(timezone.utc) + timedelta(days=random.randint(2, 20))).replace(microsecond=0).isoformat()


class Worker:
    """What a studio member (browser or script) does with deals, over the API."""

    deals: list[dict]

    def api_headers(self) -> dict:
        raise NotImplementedError

    def load_deals(self) -> None:
        """Their own open deals the move dialog can move (the API's plain filters)."""
        response = self.client.get(
            f"/api/v1/opportunities/?owner=me&status=open&stage={','.join(MOVABLE)}&page_size=100",
            headers=self.api_headers(), name="/api/v1/opportunities/?owner=me (filter)")
        rows = response.json().get("result", []) if response.status_code == 200 else []
        self.deals = [{"id": r["id"], "account_id": r["account_id"], "stage": r["stage"], "version": r["version"]}
                      for r in rows]
        if not self.deals:  # nothing of their own: anyone's open deals (Owner writes every deal)
            response = self.client.get(f"/api/v1/opportunities/?status=open&stage={','.join(MOVABLE)}"
                                       f"&page={random.randint(0, 20)}&page_size=100",
                                       headers=self.api_headers(), name="/api/v1/opportunities/?status=open (filter)")
            rows = response.json().get("result", []) if response.status_code == 200 else []
            self.deals = [{"id": r["id"], "account_id": r["account_id"], "stage": r["stage"],
                           "version": r["version"]} for r in rows]

    def move(self) -> None:
        """Move one deal to another open stage with evidence and the version on the card; on a
        409 reload the deal and retry once."""
        if not self.deals:
            return
        deal = random.choice(self.deals)
        for attempt in (1, 2):
            target = random.choice([s for s in MOVABLE if s != deal["stage"]])
            body = {"stage": target, "version": deal["version"], "evidence_refs": [random.choice(EVIDENCE)],
                    "next_step_text": f"Send the {target} follow-up", "next_step_due_at": _next_step_due()}
            with _Pending("moves"), self.client.request("PATCH", f"/api/v1/opportunities/{deal['id']}", json=body,
                                     headers=self.api_headers(), name="PATCH /api/v1/opportunities/[id] (move)",
                                     catch_response=True) as response:
                if response.status_code == 200:
                    data = response.json()
                    deal.update(stage=data["result"]["stage"], version=data["result"]["version"])
                    _record("moves", {"id": deal["id"], "stage": target, "version": deal["version"],
                                      "events": [e["id"] for e in data.get("events", [])
                                                 if e.get("event_type") == "stage_changed"]})
                    if attempt == 2:
                        _record("conflicts_retried", 1)
                    response.success()
                    return
                if response.status_code == 409 and attempt == 1:
                    response.success()  # the user reloads the card and tries again
                    _record("conflicts", 1)
                    if not self.reload(deal):
                        return
                    continue
                response.failure(f"move answered {response.status_code}: {response.text[:200]}")
                return

    def reload(self, deal: dict) -> bool:
        response = self.client.get(f"/api/v1/opportunities/{deal['id']}", headers=self.api_headers(),
                                   name="/api/v1/opportunities/[id]")
        if response.status_code != 200:
            return False
        result = response.json()["result"]
        deal.update(stage=result["stage"], version=result["version"])
        return result["stage"] in MOVABLE

    def note(self) -> None:
        if not self.deals:
            return
        deal = random.choice(self.deals)
        with _Pending("notes"):
            response = self.client.post(f"/api/v1/opportunities/{deal['id']}/notes",
                                        json={"text": f"Load run {RUN}: talked to the client about the brief"},
                                        headers=self.api_headers(), name="POST /api/v1/opportunities/[id]/notes")
        if response.status_code == 201:
            _record("notes", response.json()["id"])


class StudioUser(Worker, FastHttpUser):
    """A studio member in the browser (session cookie, CSRF token on writes)."""

    weight = 8
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.done = 0
        self.username = next(_users)
        page = self.client.get("/login/", name="/login/")
        token = CSRF.search(page.text or "")
        response = self.client.post("/login/", data={"username": self.username, "password": PASSWORD,
                                                     "csrf_token": (token.group(1) or token.group(2)) if token else ""},
                                    name="POST /login/", allow_redirects=False)
        if response.status_code != 302:
            raise StopUser()
        board = self.client.get("/board/", name="/board/ (own)")
        found = MOVE_CSRF.search(board.text or "")
        self.csrf = found.group(1) if found else ""
        self.load_deals()

    def api_headers(self) -> dict:
        return {"X-CSRFToken": self.csrf, "Accept": "application/json"}

    def _count(self) -> None:
        self.done += 1
        if self.done > MAX_TASKS:
            raise StopUser()

    def _deal(self) -> dict | None:
        return random.choice(self.deals) if self.deals else None

    @task(4)
    def board_everyone(self):
        self._count()
        self.client.get("/board/?owner=all", name="/board/?owner=all")

    @task(4)
    def board_own(self):
        self._count()
        self.client.get("/board/?owner=me", name="/board/ (own)")

    @task(2)
    def board_search(self):
        self._count()
        self.client.get(f"/board/?owner=all&q={random.choice(SEARCHES)}", name="/board/?q=")

    @task(3)
    def accounts(self):
        self._count()
        self.client.get(f"/accounts/?page={random.randint(0, 5)}", name="/accounts/")

    @task(2)
    def accounts_search(self):
        self._count()
        self.client.get(f"/accounts/?q={random.choice(ACCOUNT_SEARCHES)}", name="/accounts/?q=")

    @task(3)
    def account_page(self):
        self._count()
        deal = self._deal()
        if deal:
            self.client.get(f"/accounts/{deal['account_id']}", name="/accounts/[id]")

    @task(3)
    def opportunity_page(self):
        self._count()
        deal = self._deal()
        if deal:
            self.client.get(f"/opportunities/{deal['id']}", name="/opportunities/[id]")

    @task(1)
    def dashboard(self):
        self._count()
        self.client.get("/dashboard/", name="/dashboard/")

    @task(1)
    def api_filter(self):
        self._count()
        stage = random.choice(MOVABLE)
        self.client.get(f"/api/v1/opportunities/?owner=me&stage={stage}&page_size=25",
                        headers=self.api_headers(), name="/api/v1/opportunities/?stage= (filter)")

    @task(3)
    def move_with_evidence(self):
        self._count()
        self.move()
        self.client.get("/board/summary?owner=me", headers={"Accept": "application/json"}, name="/board/summary")

    @task(2)
    def add_note(self):
        self._count()
        self.note()


class ApiClient(Worker, FastHttpUser):
    """A script of the studio with a JWT."""

    weight = 1
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.done = 0
        self.username = next(_users)
        response = self.client.post("/api/v1/security/login", json={
            "username": self.username, "password": PASSWORD, "provider": "db", "refresh": False},
            name="POST /api/v1/security/login")
        if response.status_code != 200:
            raise StopUser()
        self.token = response.json()["access_token"]
        self.load_deals()

    def api_headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}

    @task(3)
    def filter_deals(self):
        self.done += 1
        if self.done > MAX_TASKS:
            raise StopUser()
        stage = random.choice(MOVABLE)
        self.client.get(f"/api/v1/opportunities/?owner=me&stage={stage}&page_size=25",
                        headers=self.api_headers(), name="/api/v1/opportunities/?stage= (filter)")

    @task(2)
    def read_deal(self):
        self.done += 1
        if self.deals:
            self.reload(random.choice(self.deals))

    @task(2)
    def move_with_evidence(self):
        self.done += 1
        self.move()

    @task(1)
    def add_note(self):
        self.done += 1
        self.note()


class WebhookSender(FastHttpUser):
    """Chatwoot and Telegram delivering client messages (signed, unique ids per run)."""

    weight = 1
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.done = 0
        self.base = int(hashlib.sha256(RUN.encode()).hexdigest()[:8], 16) * 1000

    def _delivered(self, response) -> None:
        if response.status_code == 200:
            _record("webhook", response.json())

    @task(2)
    def chatwoot(self):
        self.done += 1
        if self.done > MAX_TASKS:
            raise StopUser()
        n = next(_message_ids)
        display_id = random.randint(1, 300)
        contact = {"id": 7000 + display_id, "name": f"Client {display_id}", "email": f"client{display_id}@load.example",
                   "phone_number": None, "identifier": None, "type": "contact",
                   "additional_attributes": {"company_name": f"Load client {display_id}"}}
        body = {"event": "message_created", "id": self.base + n, "content": f"Hello, a question about the brief ({RUN}-{n})",
                "message_type": "incoming", "private": False,
                "created_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "content_type": "text", "content_attributes": {}, "source_id": None, "sender": contact,
                "inbox": {"id": 9, "name": "Website"}, "account": {"id": 3, "name": "Studio"},
                "conversation": {"id": display_id, "inbox_id": 9, "status": "open", "channel": "Channel::WebWidget",
                                 "meta": {"sender": contact}, "additional_attributes": {}},
                "additional_attributes": {}}
        raw = json.dumps(body).encode()
        stamp = str(int(time.time()))
        signature = "sha256=" + hmac.new(CHATWOOT_SECRET.encode(), f"{stamp}.".encode() + raw, hashlib.sha256).hexdigest()
        with _Pending("webhooks"):
            response = self.client.post("/webhooks/chatwoot", data=raw, name="POST /webhooks/chatwoot", headers={
                "Content-Type": "application/json", "X-Chatwoot-Timestamp": stamp, "X-Chatwoot-Signature": signature,
                "X-Chatwoot-Delivery": str(uuid.uuid4())})
        self._delivered(response)

    @task(1)
    def telegram(self):
        self.done += 1
        n = next(_message_ids)
        chat = random.randint(1, 200)
        sender = {"id": 900_000 + chat, "is_bot": False, "first_name": "Client", "last_name": str(chat),
                  "username": f"load_client_{chat}"}
        body = {"update_id": self.base + n, "message": {
            "message_id": self.base + n, "from": sender, "date": int(time.time()),
            "chat": {"id": 900_000 + chat, "type": "private", "first_name": "Client", "username": f"load_client_{chat}"},
            "text": f"Здравствуйте, вопрос по макету ({RUN}-{n})"}}
        with _Pending("webhooks"):
            response = self.client.post("/webhooks/telegram", json=body, name="POST /webhooks/telegram",
                                        headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET})
        self._delivered(response)
