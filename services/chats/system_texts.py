"""The texts the system writes to clients, per language: the defaults a channel's own text replaces.

A channel names its language with an IETF tag (`es`, `en`, `pt-BR`); a regional tag falls back to
its language (`pt-BR` -> `pt`). Only languages this catalog has may be chosen, so a channel never
speaks a language its admin did not pick. The texts are gettext catalogs: English here (the msgids),
the others in `locale/<language>/LC_MESSAGES/openchannels.po`, compiled to `.mo` when the package is
built (setup.py). Adding a language: a new .po with every text, then `pip install -e .`.
"""
from __future__ import annotations

import gettext
import re
from enum import Enum
from pathlib import Path

from services.chats.gettext_catalogs import DOMAIN
from services.common.errors import InvalidInput

DEFAULT_LANGUAGE = "en"


class SystemText(str, Enum):
    WELCOME = "WELCOME"
    RATING_REQUEST = "RATING_REQUEST"
    AFTER_HOURS = "AFTER_HOURS"
    NO_ANSWER = "NO_ANSWER"


#: the texts in English: the msgids of the gettext catalogs of the other languages
ENGLISH: dict[SystemText, str] = {
    SystemText.WELCOME: "Hello! Thank you for writing to us. An operator will answer you shortly.",
    SystemText.RATING_REQUEST: "How did we do? Please rate this conversation.",
    SystemText.AFTER_HOURS: "Thank you for your message. We are closed right now: an operator will answer "
                            "you as soon as we open.",
    SystemText.NO_ANSWER: "Sorry for the wait: all our operators are busy. We will answer you as soon as "
                          "possible.",
}
#: `<language>/LC_MESSAGES/openchannels.po` per language, compiled to `.mo` at build time
#: (services/chats/gettext_catalogs.py, run by setup.py)
LOCALE_DIR = Path(__file__).resolve().parent / "locale"


def _load_catalog() -> dict[str, dict[SystemText, str]]:
    """language -> its texts: English, and each language with a .po source, read by gettext from its
    compiled .mo (a text it does not translate stays English)."""
    catalog = {DEFAULT_LANGUAGE: dict(ENGLISH)}
    for source in sorted(LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        language = source.parent.parent.name
        try:
            translation = gettext.translation(DOMAIN, LOCALE_DIR, languages=[language])
        except FileNotFoundError as missing:
            raise RuntimeError(f"The compiled catalog of {language!r} ({source.with_suffix('.mo')}) is missing: "
                               "install the package (pip install -e .), which compiles the .po files") from missing
        catalog[language] = {kind: translation.gettext(text) for kind, text in ENGLISH.items()}
    return catalog


CATALOG: dict[str, dict[SystemText, str]] = _load_catalog()

_TAG = re.compile(r"^([A-Za-z]{2,3})(-[A-Za-z0-9]{2,8})*$")


def _base(language: str) -> str:
    return language.split("-", 1)[0].lower()


def normalize_language(language: str | None, field: list[str] | None = None) -> str:
    """A well-formed tag of a language the catalog has (`pt-br` -> `pt-BR`); INVALID_INPUT otherwise."""
    tag = (language or "").strip()
    if not _TAG.match(tag):
        raise InvalidInput(f"{tag!r} is not a language tag such as es, en or pt-BR.", field=field)
    if _base(tag) not in CATALOG:
        raise InvalidInput(f"No system texts in {tag!r} yet: choose one of {', '.join(sorted(CATALOG))} "
                           "(or a regional variant such as pt-BR).", field=field)
    head, *rest = tag.split("-")
    return "-".join([head.lower()] + [part.upper() if len(part) == 2 else part for part in rest])


def default_text(kind: SystemText, language: str | None) -> str:
    """The catalog's text in this language (its base language; English for one it lacks)."""
    return CATALOG.get(_base(language or DEFAULT_LANGUAGE), CATALOG[DEFAULT_LANGUAGE])[kind]


def text_for(kind: SystemText, language: str | None, own: str | None = None) -> str:
    """The channel's own text when it has one (it always wins), else the default in its language."""
    own = (own or "").strip()
    return own or default_text(kind, language)
