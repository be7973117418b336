"""Webhooks never answer 5xx to a signed payload (issue 16): a JSON shape the parsers cannot use is a
2xx and a log line, nothing is stored as a Python repr or with NUL; a content type other than JSON
is 415, a body that is not JSON 400. And every request body is bounded: over MAX_CONTENT_LENGTH it is
a 413 before it is read, before anyone is authenticated (JSON under /api and /webhooks, a page
elsewhere)."""
import copy
import io
import json
import re

import pytest
from sqlalchemy import select
from werkzeug.test import EnvironBuilder

from app.extensions import db
from app.models import InboundMessage, InboundThread
from tests.hardening.world import empty_crm_tables, row_counts, signed_chatwoot, signed_telegram
from tests.inbound_payloads import cw_conversation, cw_message, tg_update

WRONG = re.compile("\\{'|\\['|\x00|[\ud800-\udfff]")  # a dict or list repr, NUL, a lone surrogate


def _with(payload, path: str, value):
    """A copy of the payload with the dotted path set to value."""
    body = copy.deepcopy(payload)
    *parents, last = path.split(".")
    holder = body
    for key in parents:
        holder = holder[key]
    holder[last] = value
    return body


CW = cw_message()
CHATWOOT_CASES = [  # (id, payload, messages stored)
    ("conversation.meta is a string", _with(CW, "conversation.meta", "x"), 1),
    ("sender is a list", _with(CW, "sender", ["x", 1]), 1),
    ("meta.sender is a list", _with(CW, "conversation.meta.sender", ["x"]), 1),
    ("conversation is a string", _with(CW, "conversation", "x"), 0),
    ("content is an object", _with(CW, "content", {"a": 1}), 0),
    ("message id is an object", _with(CW, "id", {"x": 1}), 0),
    ("message id is true", _with(CW, "id", True), 0),
    ("account is a string", _with(_with(CW, "account", "x"), "conversation.account_id", None), 0),
    ("account id is a list", _with(CW, "account.id", [3]), 0),
    ("created_at is garbage", _with(CW, "created_at", "garbage"), 0),
    ("created_at is 1e20", _with(CW, "created_at", 1e20), 0),
    ("created_at is year 1", _with(CW, "created_at", "0001-01-01T00:00:00Z"), 0),
    ("message_type is a list", _with(CW, "message_type", ["incoming"]), 0),
    ("sender name is a number list", _with(CW, "conversation.meta.sender.name", [1, 2]), 1),
    ("content with NUL", _with(CW, "content", "hello\u0000world"), 1),
    ("content with a lone surrogate", _with(CW, "content", "hello \ud800"), 1),
    ("sender name of 10000 characters", _with(CW, "conversation.meta.sender.name", "N" * 10000), 1),
    ("email of 1000 characters", _with(CW, "conversation.meta.sender.email", "e" * 990 + "@example.org"), 1),
    ("payload is a list", [CW], 0),
    ("payload is a string", "message_created", 0),
    ("payload is null", None, 0),
    ("messages is a number", {**cw_conversation(), "messages": 5}, 0),
    ("messages hold strings", {**cw_conversation(), "messages": ["x", 5, None]}, 0),
    ("a nested message id is an object", cw_conversation(messages=[{"id": {"a": 1}, "message_type": 0,
                                                                   "content": "hi", "created_at": 1763633700}]), 0),
    ("nested 40 deep", _with(CW, "content_attributes", json.loads("[" * 40 + "]" * 40)), 0),
]
TG = tg_update()
TELEGRAM_CASES = [
    ("chat is a string", _with(TG, "message.chat", "x"), 0),
    ("from is a string", _with(TG, "message.from", "x"), 1),
    ("text with NUL", _with(TG, "message.text", "a\u0000b"), 1),
    ("text is an object", _with(TG, "message.text", {"a": 1}), 0),
    ("message_id is a float", _with(TG, "message.message_id", 1.5), 0),
    ("date is a string", _with(TG, "message.date", "yesterday"), 0),
    ("chat id is an object", _with(TG, "message.chat.id", {"id": 1}), 0),
    ("username is a number list", _with(TG, "message.from.username", [1]), 1),
    ("message is a string", {"update_id": 1, "message": "x"}, 0),
    ("update is a list", [TG], 0),
]


def _stored_values(app) -> list[str]:
    with app.app_context():
        values = []
        for m in db.session.scalars(select(InboundMessage)):
            values += [m.external_key, m.text, m.sender_name, m.sender_handle, m.sender_email, m.sender_phone]
            values += [json.dumps(m.raw, ensure_ascii=False)]
        for t in db.session.scalars(select(InboundThread)):
            values += [t.external_key, t.title]
        db.session.remove()
        return [v for v in values if v is not None]


def _check_stored(app, stored: int):
    counts = row_counts(app)
    assert counts["inbound_messages"] == stored, counts
    for value in _stored_values(app):
        assert not WRONG.search(value), value[:200]


@pytest.fixture()
def empty(app):
    empty_crm_tables(app)


@pytest.mark.parametrize("case", CHATWOOT_CASES, ids=[c[0] for c in CHATWOOT_CASES])
def test_signed_chatwoot_payloads_of_any_shape_are_2xx_and_store_only_typed_values(app, empty, case, caplog):
    _, payload, stored = case
    response = signed_chatwoot(app.test_client(), json.dumps(payload).encode())
    assert response.status_code == 200, response.get_data(as_text=True)
    if stored == 0:
        assert "ignored" in response.get_json() or response.get_json().get("stored") == 0
    _check_stored(app, stored)


@pytest.mark.parametrize("case", TELEGRAM_CASES, ids=[c[0] for c in TELEGRAM_CASES])
def test_signed_telegram_updates_of_any_shape_are_2xx_and_store_only_typed_values(app, empty, case):
    _, payload, stored = case
    response = signed_telegram(app.test_client(), json.dumps(payload).encode())
    assert response.status_code == 200, response.get_data(as_text=True)
    _check_stored(app, stored)


def test_what_is_stored_is_scrubbed_and_cut_to_its_column(app, empty):
    client = app.test_client()
    payload = _with(_with(CW, "content", "hello\u0000 world \ud800"), "sender.name", "N" * 1000)
    assert signed_chatwoot(client, json.dumps(payload).encode()).status_code == 200
    with app.app_context():
        message = db.session.scalars(select(InboundMessage)).one()
        assert message.text == "hello world \ufffd"
        assert message.sender_name == "N" * 255
        db.session.remove()


def test_an_unusable_payload_is_logged(app, empty, caplog):
    with caplog.at_level("WARNING", logger="app.webhooks"):
        response = signed_chatwoot(app.test_client(), json.dumps(_with(CW, "id", {"x": 1})).encode())
    assert response.status_code == 200 and response.get_json()["stored"] == 0
    assert any("unusable payload" in r.getMessage() for r in caplog.records)


@pytest.mark.smoke
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "text/html"])
def test_a_content_type_other_than_json_is_415(app, content_type):
    body = json.dumps(cw_message()).encode()
    before = row_counts(app)
    assert signed_chatwoot(app.test_client(), body, content_type=content_type).status_code == 415
    assert signed_telegram(app.test_client(), json.dumps(tg_update()).encode(), content_type=content_type).status_code == 415
    assert row_counts(app) == before


@pytest.mark.smoke
def test_a_body_that_is_not_json_stays_400_and_deep_json_is_ignored(app):
    client = app.test_client()
    assert signed_chatwoot(client, b"{not json").status_code == 400
    assert signed_telegram(client, b"\xff\xfe").status_code == 400
    deep = ("[" * 50000 + "]" * 50000).encode()
    for response in (signed_chatwoot(client, deep), signed_telegram(client, deep)):
        assert response.status_code == 200 and response.get_json()["stored"] == 0


def test_unsigned_is_still_401_whatever_the_body(app):
    client = app.test_client()
    assert client.post("/webhooks/chatwoot", data=b"x", content_type="text/plain").status_code == 401
    assert client.post("/webhooks/telegram", data=b"[[[[", content_type="application/json").status_code == 401


# ---- bounded requests -----------------------------------------------------------------------------

TWO_MB = b"x" * (2 * 1024 * 1024)


@pytest.mark.smoke
@pytest.mark.parametrize("path", ["/webhooks/chatwoot", "/webhooks/telegram", "/api/v1/security/login",
                                  "/api/v1/accounts/", "/api/v1/opportunities/"])
def test_a_2_mb_body_is_413_json_before_authentication(app, path):
    response = app.test_client().post(path, data=TWO_MB, content_type="application/json")
    assert response.status_code == 413
    assert response.get_json() == {"message": "The request is larger than the server accepts."}


@pytest.mark.smoke
def test_a_2_mb_form_is_an_app_page(app):
    response = app.test_client().post("/login/", data={"username": "admin", "password": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413 and response.mimetype == "text/html"
    assert "Запрос больше, чем принимает сервер." in response.get_data(as_text=True)  # the UI's default language


class Unreadable(io.RawIOBase):
    """A request body that fails the test if anyone reads it."""

    def readable(self):
        return True

    def readinto(self, buffer):
        raise AssertionError("the body was read")


def _call(app, environ):
    status = []
    body = b"".join(app.wsgi_app(environ, lambda s, h, exc_info=None: status.append(s)))
    return status[0], body


@pytest.mark.smoke
def test_the_413_comes_before_the_body_is_read(app):
    environ = EnvironBuilder(path="/webhooks/chatwoot", method="POST", content_type="application/json").get_environ()
    environ.update({"CONTENT_LENGTH": str(200 * 1024 * 1024), "wsgi.input": Unreadable()})
    status, body = _call(app, environ)
    assert status.startswith("413") and b"larger than the server accepts" in body


@pytest.mark.smoke
@pytest.mark.parametrize("path", ["/webhooks/telegram", "/api/v1/security/login"])
def test_a_chunked_body_over_the_limit_is_413_too(app, path):
    """No Content-Length: Werkzeug stops reading at MAX_CONTENT_LENGTH (FAB's @safe included)."""
    environ = EnvironBuilder(path=path, method="POST", content_type="application/json",
                             headers={"X-Telegram-Bot-Api-Secret-Token": "tg-secret"}).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ.update({"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input_terminated": True,
                    "wsgi.input": io.BytesIO(b'{"x": "' + TWO_MB + b'"}')})
    status, body = _call(app, environ)
    assert status.startswith("413"), body[:300]
    assert json.loads(body) == {"message": "The request is larger than the server accepts."}


def test_a_body_under_the_limit_is_accepted(app, empty):
    payload = _with(CW, "content", "x" * (900 * 1024))
    assert signed_chatwoot(app.test_client(), json.dumps(payload).encode()).status_code == 200
    assert row_counts(app)["inbound_messages"] == 1


@pytest.mark.smoke
def test_the_limit_follows_the_setting(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1000)
    response = app.test_client().post("/api/v1/security/login", data=b"x" * 1001, content_type="application/json")
    assert response.status_code == 413


def test_config_reads_crm_max_content_length(monkeypatch):
    from config import make_config

    assert make_config()["MAX_CONTENT_LENGTH"] == 1024 * 1024
    monkeypatch.setenv("CRM_MAX_CONTENT_LENGTH", "2048")
    assert make_config()["MAX_CONTENT_LENGTH"] == 2048
