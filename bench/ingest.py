"""Inbound ingestion speed on PostgreSQL: messages per second through the Telegram export import
(the CLI path) and through signed Chatwoot webhooks (one HTTP request per message).

    .venv/bin/python -m bench.ingest [import_messages] [webhook_messages]   (default 50000, 2000)
"""
from __future__ import annotations

import json
import sys
import time

from bench.generate import create_database, drop_database


def export(n: int, chat_id: int = 987654321) -> dict:
    return {"name": "Bench chat", "type": "private_supergroup", "id": chat_id, "messages": [
        {"id": i, "type": "message", "date_unixtime": str(1_760_000_000 + i), "from": f"Client {i % 50}",
         "from_id": f"user{i % 50}", "text": ["Сообщение ", {"type": "bold", "text": str(i)}]} for i in range(1, n + 1)]}


def main(import_n: int = 50_000, webhook_n: int = 2_000) -> None:
    from app import create_app
    from app.inbound.signatures import sign_chatwoot
    from app.inbound.telegram import parse_export
    from app.services.context import SYSTEM, ChangeRequest
    from app.services.inbound import BATCH, ingest

    url = create_database("crm_bench_ingest")
    try:
        app = create_app(SQLALCHEMY_DATABASE_URI=url, CHATWOOT_WEBHOOK_SECRET="bench")
        with app.app_context():
            data = export(import_n)
            started = time.perf_counter()
            records, _ = parse_export(data)
            for start in range(0, len(records), BATCH):
                ingest(ChangeRequest(SYSTEM), records[start:start + BATCH])
            elapsed = time.perf_counter() - started
            print(f"import (parse + store, batches of {BATCH}): {import_n} messages in {elapsed:.1f} s "
                  f"= {import_n / elapsed:,.0f} messages/s")
            started = time.perf_counter()
            records, _ = parse_export(data)
            for start in range(0, len(records), BATCH):
                ingest(ChangeRequest(SYSTEM), records[start:start + BATCH])
            elapsed = time.perf_counter() - started
            print(f"import again (all known): {import_n / elapsed:,.0f} messages/s")
        client = app.test_client()
        started = time.perf_counter()
        for i in range(webhook_n):
            body = json.dumps({"event": "message_created", "id": i, "content": f"hello {i}", "message_type": "incoming",
                               "private": False, "created_at": "2026-11-20T10:15:00Z",
                               "sender": {"id": i % 40, "name": f"Client {i % 40}", "email": f"c{i % 40}@example.org"},
                               "conversation": {"id": i % 200}, "account": {"id": 1}}).encode()
            ts = int(time.time())
            response = client.post("/webhooks/chatwoot", data=body, headers={
                "Content-Type": "application/json", "X-Chatwoot-Timestamp": str(ts),
                "X-Chatwoot-Signature": sign_chatwoot("bench", body, ts)})
            assert response.status_code == 200
        elapsed = time.perf_counter() - started
        print(f"webhook (signed POST, one message each): {webhook_n} messages in {elapsed:.1f} s "
              f"= {webhook_n / elapsed:,.0f} messages/s")
    finally:
        drop_database(url)


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
