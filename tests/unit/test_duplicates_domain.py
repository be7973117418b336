"""The keys duplicates are found by: registrable domains (free mail never counts) and names with
case, quotes and legal forms ignored, in Russian and English."""
import pytest

from app.domain.duplicates import (CONTACT_REASONS, REASONS, email_domain, first_word, name_key, ordered, pair_key,
                                   registrable_domain, score)

pytestmark = pytest.mark.smoke


@pytest.mark.parametrize("given", ["tochka-rosta.ru", "www.tochka-rosta.ru", "shop.tochka-rosta.ru",
                                   "https://WWW.Tochka-Rosta.ru/about", "sales@tochka-rosta.ru"])
def test_every_spelling_of_a_site_has_one_registrable_domain(given):
    assert registrable_domain(given) == "tochka-rosta.ru"


def test_public_suffixes_of_two_labels_are_kept_whole():
    assert registrable_domain("shop.acme.co.uk") == "acme.co.uk"
    assert registrable_domain("co.uk") is None


@pytest.mark.parametrize("free", ["gmail.com", "mail.ru", "yandex.ru", "ya.ru", "bk.ru", "list.ru", "inbox.ru",
                                  "rambler.ru", "outlook.com", "hotmail.com", "yahoo.com", "icloud.com", "proton.me"])
def test_free_mail_never_counts_as_a_company_domain(free):
    assert registrable_domain(free) is None
    assert email_domain(f"ivan@{free}") is None


def test_a_cyrillic_domain_stays_readable():
    assert registrable_domain("www.точка-роста.рф") == "точка-роста.рф"


def test_nothing_or_a_single_label_has_no_domain():
    assert registrable_domain(None) is None
    assert registrable_domain("") is None
    assert registrable_domain("localhost") is None


@pytest.mark.parametrize("a, b", [
    ("«Точка роста»", 'ООО "Точка Роста"'),
    ("Точка роста", "АО «ТОЧКА РОСТА»"),
    ("Acme Robotics LLC", "ACME Robotics, Inc."),
    ("Acme Robotics Ltd.", "acme robotics GmbH"),
    ("Ёлка", "ИП Елка"),
    ("“Север”", "ПАО „Север“"),
])
def test_the_same_company_has_the_same_name_key(a, b):
    assert name_key(a) == name_key(b) != ""


def test_the_name_key_of_tochka_rosta():
    assert name_key('ООО "Точка Роста"') == "точка роста"
    assert name_key("ACME Robotics Inc.") == "acme robotics"


def test_different_companies_keep_different_keys():
    assert name_key("Acme Robotics") != name_key("Acme Logistics")
    assert name_key(None) == "" and name_key("  ООО  ") == ""


def test_the_sqlite_similarity_stand_in_is_the_first_significant_word():
    assert first_word("северсталь групп") == "северсталь"
    assert first_word("ab северсталь") == "северсталь"  # words under three letters are skipped
    assert first_word("") == ""


def test_score_is_the_strongest_reason_raised_by_each_further_one():
    assert score([]) == 0
    assert score(["similar_name"]) < score(["name"]) < score(["name", "domain"]) <= 1
    assert 0 < score(["contact_phone"]) < 1


def test_reasons_are_listed_strongest_first_without_repeats():
    assert ordered(["similar_name", "domain", "domain"], REASONS) == ["domain", "similar_name"]
    assert ordered(["name", "email"], CONTACT_REASONS) == ["email", "name"]


def test_a_pair_is_stored_smaller_id_first():
    assert pair_key("b", "a") == pair_key("a", "b") == ("a", "b")
