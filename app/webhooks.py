"""Webhook endpoints for Chatwoot and Telegram: authenticate, parse, store — nothing else."""
from __future__ import annotations

import json
import logging
import time

from flask import Blueprint, current_app, jsonify, request

from app.inbound import chatwoot, telegram
from app.inbound.records import UnusablePayload
from app.inbound.signatures import SignatureError, verify_chatwoot, verify_telegram
from app.services.context import SYSTEM, ChangeRequest
from app.services.inbound import ingest

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


def _json_body():
    try:
        return json.loads(request.get_data(cache=True) or b"")
    except (ValueError, UnicodeDecodeError):
        return None


def _store(parse, source: str):
    payload = _json_body()
    if payload is None:
        return jsonify(message="malformed JSON"), 400
    try:
        records = parse(payload)
    except UnusablePayload as exc:
        log.warning("%s webhook: unusable payload: %s", source, exc)
        return jsonify(stored=0, ignored=str(exc)), 200
    result = ingest(ChangeRequest(SYSTEM), records)  # as the system, which sees every thread
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
