"""The texts the system writes to clients, per language: the defaults a channel's own text replaces.

A channel names its language with an IETF tag (`es`, `en`, `pt-BR`); a regional tag falls back to
its language (`pt-BR` -> `pt`). Only languages this catalog has may be chosen, so a channel never
speaks a language its admin did not pick. Adding one: a new entry in CATALOG with every text.
"""
from __future__ import annotations

import re
from enum import Enum

from services.common.errors import InvalidInput

DEFAULT_LANGUAGE = "en"


class SystemText(str, Enum):
    WELCOME = "WELCOME"
    RATING_REQUEST = "RATING_REQUEST"
    AFTER_HOURS = "AFTER_HOURS"
    NO_ANSWER = "NO_ANSWER"


CATALOG: dict[str, dict[SystemText, str]] = {
    "en": {
        SystemText.WELCOME: "Hello! Thank you for writing to us. An operator will answer you shortly.",
        SystemText.RATING_REQUEST: "How did we do? Please rate this conversation.",
        SystemText.AFTER_HOURS: "Thank you for your message. We are closed right now: an operator will answer "
                                "you as soon as we open.",
        SystemText.NO_ANSWER: "Sorry for the wait: all our operators are busy. We will answer you as soon as "
                              "possible.",
    },
    "es": {
        SystemText.WELCOME: "¡Hola! Gracias por escribirnos. Un operador te responderá en breve.",
        SystemText.RATING_REQUEST: "¿Qué tal lo hemos hecho? Por favor, valora esta conversación.",
        SystemText.AFTER_HOURS: "Gracias por tu mensaje. Ahora mismo estamos cerrados: un operador te responderá "
                                "en cuanto abramos.",
        SystemText.NO_ANSWER: "Perdona la espera: todos nuestros operadores están ocupados. Te responderemos lo "
                              "antes posible.",
    },
    "pt": {
        SystemText.WELCOME: "Olá! Obrigado por nos escrever. Um atendente responderá em breve.",
        SystemText.RATING_REQUEST: "Como foi o nosso atendimento? Por favor, avalie esta conversa.",
        SystemText.AFTER_HOURS: "Obrigado pela sua mensagem. Estamos fechados agora: um atendente responderá "
                                "assim que abrirmos.",
        SystemText.NO_ANSWER: "Desculpe a espera: todos os nossos atendentes estão ocupados. Responderemos o "
                              "mais breve possível.",
    },
}

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
