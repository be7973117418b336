"""Authenticity of webhook deliveries."""
from __future__ import annotations

import hashlib
import hmac


class SignatureError(Exception):
    """The delivery is not provably from the configured sender."""


def verify_chatwoot(secret: str | None, raw_body: bytes, timestamp: str | None, signature: str | None, *,
                    now: float, max_age: int = 300) -> None:
    """Chatwoot: X-Chatwoot-Signature = "sha256=" + HMAC-SHA256(secret, f"{timestamp}." + raw body),
    X-Chatwoot-Timestamp within max_age seconds of now. No secret configured refuses everything."""
    if not secret:
        raise SignatureError("no webhook secret configured")
    if not timestamp or not signature:
        raise SignatureError("missing signature headers")
    try:
        sent = int(timestamp)
    except ValueError:
        raise SignatureError("bad timestamp") from None
    if abs(now - sent) > max_age:
        raise SignatureError("stale timestamp")
    expected = "sha256=" + hmac.new(secret.encode(), f"{sent}.".encode() + raw_body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature.strip()):
        raise SignatureError("bad signature")


def sign_chatwoot(secret: str, raw_body: bytes, timestamp: int) -> str:
    """The signature header value Chatwoot would send (for tests, benchmarks and scripts)."""
    return "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + raw_body, hashlib.sha256).hexdigest()


def verify_telegram(secret: str | None, header: str | None) -> None:
    """Telegram: X-Telegram-Bot-Api-Secret-Token equals the secret_token given to setWebhook."""
    if not secret:
        raise SignatureError("no webhook secret configured")
    if not header or not hmac.compare_digest(secret, header):
        raise SignatureError("bad secret token")
