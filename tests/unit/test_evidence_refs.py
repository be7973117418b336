"""Evidence refs: links, notes and messages that back an important change."""
import pytest

from app.domain.errors import RuleViolation
from app.domain.evidence import parse_evidence_refs, parse_evidence_text


def test_the_three_kinds_are_normalised():
    refs = parse_evidence_refs([{"type": "url", "url": " https://mail.example.com/t/1 "},
                                {"type": "note", "text": " called the CEO "}, {"type": "message", "id": 42}])
    assert refs == [{"type": "url", "url": "https://mail.example.com/t/1"},
                    {"type": "note", "text": "called the CEO"}, {"type": "message", "id": "42"}]


@pytest.mark.parametrize("raw", [
    None, [], "https://x.ru", {"type": "note", "text": "x"}, [{"type": "gossip"}], [{"type": "url"}],
    [{"type": "url", "url": "ftp://x.ru/file"}], [{"type": "url", "url": "javascript:alert(1)"}],
    [{"type": "url", "url": "https://"}], [{"type": "note", "text": "  "}], [{"type": "note", "text": 5}],
    [{"type": "message", "id": ""}], [{"type": "message", "id": True}],
    [{"type": "note", "text": "x", "url": "https://x.ru"}], ["just text"],
])
def test_bad_evidence_is_a_field_error(raw):
    with pytest.raises(RuleViolation) as refused:
        parse_evidence_refs(raw)
    assert list(refused.value.messages) == ["evidence_refs"]


def test_optional_evidence_may_be_absent():
    assert parse_evidence_refs(None, required=False) == []
    assert parse_evidence_refs([], required=False) == []


def test_a_form_textarea_gives_one_ref_per_line():
    assert parse_evidence_text("https://x.ru/a\n\n  Client said yes on the call \nhttp://y.ru") == [
        {"type": "url", "url": "https://x.ru/a"}, {"type": "note", "text": "Client said yes on the call"},
        {"type": "url", "url": "http://y.ru"}]
    assert parse_evidence_text("   ") == []
