"""Rendering shortcuts of busy pages give what the plain helpers give: money with a memoised
Babel pattern (app.views.helpers._currency_formatter) equals flask_babel.format_currency with the
page's pattern, in every language and currency, for whole, fractional and negative amounts."""
from decimal import Decimal

import pytest
from flask_babel import force_locale, format_currency, get_locale

from app.views import helpers


def plain_money(value, currency):
    value = Decimal(value)
    locale = get_locale()
    pattern = locale.currency_formats["standard"].pattern
    if value == value.to_integral_value():
        pattern = pattern.replace("0.00", "0")
    return format_currency(value, currency, format=pattern.replace("¤#", "¤\u00a0#"), currency_digits=False)


AMOUNTS = [Decimal(0), Decimal("-0"), Decimal("0.5"), Decimal("-1250000.50"), Decimal("1250000"), Decimal("1E+3"),
           Decimal("0.005"), Decimal("123.456"), Decimal("99999999999.99"), 7, 7.25, "99.999"]


@pytest.mark.smoke
@pytest.mark.parametrize("lang", ["ru", "en", "de", "ja", "ar"])
def test_memoised_money_equals_babel(app, lang):
    with app.test_request_context(), force_locale(lang):
        for currency in ("RUB", "USD", "EUR", "JPY", "KZT", "XYZ"):
            for amount in AMOUNTS:
                assert helpers.money(amount, currency) == plain_money(amount, currency), (lang, currency, amount)


@pytest.mark.smoke
def test_memo_follows_the_language(app):
    with app.test_request_context():
        with force_locale("ru"):
            russian = helpers.money(Decimal("1250000"), "RUB")
        with force_locale("en"):
            english = helpers.money(Decimal("1250000"), "RUB")
    assert russian == "1\u00a0250\u00a0000\u00a0₽" and english == "RUB\u00a01,250,000"
