"""Chatwoot backfill over its REST API: every conversation (25 per page), every message of each
(newest first, paged with `before=<message id>`), stored through the same idempotent ingest."""
from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

from app.inbound.chatwoot import parse_rest_conversations_page, parse_rest_messages_page
from app.inbound.records import UnusablePayload

from .context import ChangeRequest
from .inbound import IngestResult, ingest


class BackfillError(Exception):
    """Chatwoot answered something we cannot use (the message says what)."""


def _get(base: str, path: str, token: str, params: dict) -> dict:
    url = f"{base.rstrip('/')}{path}?{urllib.parse.urlencode(params)}"
    request = urllib.request.Request(url, headers={"api_access_token": token, "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        raise BackfillError(f"Chatwoot answered {exc.code} for {path}") from None
    except (urllib.error.URLError, TimeoutError) as exc:
        raise BackfillError(f"cannot reach Chatwoot at {base}: {exc}") from None
    except ValueError:
        raise BackfillError(f"Chatwoot sent something that is not JSON for {path}") from None


def backfill_chatwoot(request: ChangeRequest, base: str, account_id: int, token: str, *, max_pages: int = 1000,
                      echo=print) -> IngestResult:
    """Fetch every conversation page and ingest each page of messages as its own unit of work."""
    total = IngestResult()
    for page in range(1, max_pages + 1):
        conversations = parse_rest_conversations_page(
            _get(base, f"/api/v1/accounts/{account_id}/conversations", token, {"status": "all", "page": page}))
        if not conversations:
            break
        for conversation in conversations:
            total.add(_conversation(request, base, account_id, token, conversation))
        echo(f"page {page}: {len(conversations)} conversations")
    return total


def _conversation(request: ChangeRequest, base, account_id, token, conversation) -> IngestResult:
    display_id = conversation.get("display_id", conversation.get("id"))
    result, before = IngestResult(), None
    while True:
        params = {"before": before} if before else {}
        payload = _get(base, f"/api/v1/accounts/{account_id}/conversations/{display_id}/messages", token, params)
        try:
            records = parse_rest_messages_page(payload, account_id, conversation)
        except UnusablePayload as exc:
            raise BackfillError(f"conversation {display_id}: {exc}") from None
        ids = [m.get("id") for m in (payload.get("payload") or []) if isinstance(m, dict) and m.get("id")]
        result.add(ingest(request, records))
        if not ids or (before is not None and min(ids) >= before):
            return result
        before = min(ids)
