"""Webhook endpoints for Chatwoot and Telegram: authenticate, parse, store — nothing else.

After the signature: a body that is not JSON is 400 (a content type other than JSON 415); JSON
the parsers cannot use (a wrong shape, ids or times of the wrong type, nested too deeply, values
the database refuses) is answered 200 with `ignored` and a log line, so the sender does not
retry it forever. The database being away is a 503 (app/errors.py): the sender retries later."""
from __future__ import annotations

import json
import logging
import time

from flask import Blueprint, current_app, jsonify, request

from app.domain.errors import DomainError
from app.domain.text import MAX_JSON_DEPTH, json_depth
from app.inbound import chatwoot, telegram
from app.inbound.records import UnusablePayload
from app.inbound.signatures import SignatureError, verify_chatwoot, verify_telegram
from app.services.context import SYSTEM, ChangeRequest
from app.services.inbound import ingest

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
MALFORMED = object()
# what a parser may raise on a shape it did not foresee: logged and answered 200, never 500
SHAPE_ERRORS = (UnusablePayload, AttributeError, TypeError, ValueError, KeyError, IndexError, RecursionError)


def _json_content_type() -> bool:
    """JSON, or no content type at all (curl and some proxies send none); text/plain and forms are not."""
    mimetype = request.mimetype
    return not mimetype or mimetype == "application/json" or mimetype.endswith("+json")


def _json_body():
    """The parsed body, or MALFORMED (not JSON at all); a body too deep to parse is UnusablePayload."""
    try:
        return json.loads(request.get_data(cache=True) or b"")
    except RecursionError:
        raise UnusablePayload("nested too deeply") from None
    except (ValueError, UnicodeDecodeError):
        return MALFORMED


def _ignored(source: str, reason) -> tuple:
    log.warning("%s webhook: unusable payload ignored: %s", source, str(reason)[:200] or type(reason).__name__)
    return jsonify(stored=0, ignored=str(reason)[:200] or "unusable payload"), 200


def _store(parse, source: str):
    if not _json_content_type():
        log.warning("%s webhook refused: content type %s", source, request.mimetype)
        return jsonify(message="Send JSON (Content-Type: application/json)."), 415
    try:
        payload = _json_body()
        if payload is MALFORMED:
            return jsonify(message="malformed JSON"), 400
        if json_depth(payload) > MAX_JSON_DEPTH:
            raise UnusablePayload("nested too deeply")
        records = parse(payload)
    except SHAPE_ERRORS as exc:
        if not isinstance(exc, UnusablePayload):  # a shape the parser did not foresee: keep the traceback
            log.exception("%s webhook: the parser failed on a payload", source)
        return _ignored(source, exc)
    try:
        result = ingest(ChangeRequest(SYSTEM), records)  # as the system, which sees every thread
    except DomainError as exc:  # a value the database refused (too long, out of range): nothing was stored
        return _ignored(source, exc)
    return jsonify(stored=result.new, known=result.known), 200


@bp.post("/chatwoot")
def chatwoot_webhook():
    """A Chatwoot account/inbox webhook, signed with CHATWOOT_WEBHOOK_SECRET."""
    try:
        verify_chatwoot(current_app.config.get("CHATWOOT_WEBHOOK_SECRET"), request.get_data(cache=True),
                        request.headers.get("X-Chatwoot-Timestamp"), request.headers.get("X-Chatwoot-Signature"),
                        now=time.time(), max_age=current_app.config.get("CHATWOOT_WEBHOOK_MAX_AGE", 300))
    except SignatureError as exc:
        log.warning("chatwoot webhook refused: %s", exc)
        return jsonify(message=f"refused: {exc}"), 401
    return _store(chatwoot.parse_webhook, "chatwoot")


@bp.post("/telegram")
def telegram_webhook():
    """A Telegram Bot API update, with the secret_token given to setWebhook."""
    try:
        verify_telegram(current_app.config.get("TELEGRAM_WEBHOOK_SECRET"),
                        request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
    except SignatureError as exc:
        log.warning("telegram webhook refused: %s", exc)
        return jsonify(message=f"refused: {exc}"), 401
    return _store(telegram.parse_update, "telegram")
