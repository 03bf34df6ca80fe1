"""The input checks themselves, without a server: text that cannot be stored, lengths, IDs."""
from __future__ import annotations

import base64

import pytest

from resolvers.ids import MAX_PK, decode_id, decode_optional_id, parse_global_id, to_global_id
from services.common.errors import InvalidInput
from services.common.text_input import check_text, text_input


@text_input(title=5)
async def use_case(viewer: object, *, title: str, welcome_message: str | None = None,
                   tags: list[str] | None = None) -> str:
    return title


async def test_text_is_checked_before_the_use_case_runs() -> None:
    assert await use_case(None, title="fine", welcome_message="a\u202eb \U0001F469\u200D\U0001F467 e\u0301",
                          tags=["x"]) == "fine"
    with pytest.raises(InvalidInput) as too_long:
        await use_case(None, title="sixsix")
    assert too_long.value.field == ["input", "title"] and "5 characters" in too_long.value.message
    with pytest.raises(InvalidInput) as nul:
        await use_case(None, title="ok", welcome_message="a\x00b")
    assert nul.value.field == ["input", "welcomeMessage"] and "NUL" in nul.value.message
    with pytest.raises(InvalidInput) as surrogate:
        await use_case(None, title="ok", tags=["fine", "\udfff"])
    assert surrogate.value.field == ["input", "tags"]


def test_check_text_refuses_every_surrogate_and_keeps_pairs() -> None:
    check_text("\U0001F600", None)  # a pair in UTF-16 is one character in Python: fine
    for code in (0xD800, 0xDBFF, 0xDC00, 0xDFFF):
        with pytest.raises(InvalidInput):
            check_text(f"x{chr(code)}", ["input", "text"])


def _raw(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize("global_id", [
    "", "%%%", _raw("Chat:"), _raw(":1"), _raw("Chat:-1"), _raw("Chat:0"), _raw("Chat:+1"), _raw("Chat: 1"),
    _raw(f"Chat:{MAX_PK + 1}"), _raw(f"Chat:{2**63}"), _raw("Chat:" + "9" * 5000), _raw("Chat:\u0661"),
    _raw("Chat:\u00b2"), "\ud800", "\x00",
])
def test_malformed_global_ids_decode_to_nothing(global_id: str) -> None:
    assert parse_global_id(global_id) is None
    with pytest.raises(InvalidInput) as refused:
        decode_id(global_id, "Chat", ["input", "chatId"])
    assert refused.value.field == ["input", "chatId"]


def test_well_formed_global_ids_round_trip() -> None:
    assert parse_global_id(to_global_id("Chat", 1)) == ("Chat", 1)
    assert parse_global_id(to_global_id("Chat", MAX_PK)) == ("Chat", MAX_PK)
    with pytest.raises(InvalidInput):
        decode_id(to_global_id("Message", 1), "Chat", ["input", "chatId"])
    assert decode_optional_id(None, "Chat", ["input", "chatId"]) is None
    with pytest.raises(InvalidInput):
        decode_optional_id("", "Chat", ["input", "chatId"])
