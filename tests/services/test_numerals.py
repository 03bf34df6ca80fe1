"""The one parser of numbers clients write (services/common/numerals.py): ASCII digits within a maximum,
whatever Unicode calls a digit."""
from __future__ import annotations

from hypothesis import given, strategies as st

from services.common.numerals import MAX_PK, checked_number, parse_numeral


@given(st.text())
def test_a_numeral_is_exactly_ascii_digits_within_the_maximum(text):
    number = parse_numeral(text, maximum=MAX_PK)
    plain = text != "" and all("0" <= c <= "9" for c in text) and int(text) <= MAX_PK
    assert (number is not None) == plain
    if plain:
        assert number == int(text)


def test_unicode_digits_and_big_numbers_are_not_numerals():
    for text in ("\u00b2", "\u0661\u0662", "\uff11", "\U0001d7d9", "+1", "-1", " 1", "1 ", "1_0", "",
                 str(MAX_PK + 1), "9" * 5000):
        assert parse_numeral(text, maximum=MAX_PK) is None, text
    assert parse_numeral("0012", maximum=MAX_PK) == 12 and parse_numeral(str(MAX_PK), maximum=MAX_PK) == MAX_PK


def test_a_json_number_is_checked_like_a_numeral():
    assert checked_number(12, maximum=MAX_PK) == 12 and checked_number("12", maximum=MAX_PK) == 12
    for value in (True, 1.0, -1, MAX_PK + 1, 2**64, None, [1]):
        assert checked_number(value, maximum=MAX_PK) is None, value
