"""The UI exists in English and Russian: every string of ours has a Russian translation."""
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None, "N_": None}
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2")]


def source_messages() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
            str(ROOT / "app"), METHODS, keywords=KEYWORDS, options_map={"**/templates/**.html": {}}):
        found.add(message if isinstance(message, str) else message[0])
    return {m for m in found if m}


def test_every_ui_string_has_a_russian_translation():
    with open(ROOT / "app/translations/ru/LC_MESSAGES/messages.po", "rb") as fh:
        catalog = read_po(fh, locale="ru")
    translated = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog
                  if m.id and m.string and "fuzzy" not in m.flags}
    missing = sorted(source_messages() - translated)
    assert not missing, f"{len(missing)} strings without Russian (run `make translations` and translate): {missing[:20]}"


def test_the_compiled_catalogue_matches_the_po_file():
    def plain(value):  # plural entries come as tuples from the .po and lists from the .mo
        return tuple(value) if isinstance(value, (list, tuple)) else value

    with open(ROOT / "app/translations/ru/LC_MESSAGES/messages.po", "rb") as fh:
        po = {plain(m.id): plain(m.string) for m in read_po(fh, locale="ru") if m.id and m.string and "fuzzy" not in m.flags}
    with open(ROOT / "app/translations/ru/LC_MESSAGES/messages.mo", "rb") as fh:
        mo = {plain(m.id): plain(m.string) for m in read_mo(fh) if m.id}
    assert po == mo, "run `make translations` (pybabel compile) and commit messages.mo"
