"""Message formatting: the commands and smileys operators may type, and the text rendered to HTML.

What holds for any input, however hostile or unbalanced:
- every character of the input reaches the output escaped (`html.escape`), so no `<`, `>`,
  `&` or quote of the input ever becomes markup;
- the only tags in the output are the ones this module writes, always balanced: the source
  is parsed into a tree (an unmatched closing command stays literal text, an unclosed one is
  closed at the end, a closing command closes what was opened inside it);
- a link is written only for an http(s) URL, whose text is escaped into the attribute.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import escape
from typing import cast
from urllib.parse import urlsplit


@dataclass(frozen=True)
class MessageCommand:
    command: str
    description: str
    example: str


@dataclass(frozen=True)
class Smiley:
    code: str
    emoji: str
    name: str


@dataclass(frozen=True)
class Mention:
    """An operator mentioned in a message: `@Name` in its text is linked to them."""

    operator_gid: str
    name: str


#: BB-code tag -> the HTML element it renders to
_ELEMENTS = {"b": "strong", "i": "em", "u": "u", "s": "s", "quote": "blockquote"}
#: tags whose content is taken literally (no commands, smileys or mentions inside)
_RAW = {"code", "url"}

COMMANDS: list[MessageCommand] = [
    MessageCommand("[b]", "Bold text.", "[b]important[/b]"),
    MessageCommand("[i]", "Italic text.", "[i]please note[/i]"),
    MessageCommand("[u]", "Underlined text.", "[u]deadline[/u]"),
    MessageCommand("[s]", "Struck-through text.", "[s]old price[/s]"),
    MessageCommand("[quote]", "A quoted passage.", "[quote]Where is my order?[/quote]"),
    MessageCommand("[code]", "Code or other literal text, shown as written.", "[code]order #1234[/code]"),
    MessageCommand("[url]", "A link (http and https only), with optional text.",
                   "[url=https://example.com]our site[/url] or [url]https://example.com[/url]"),
    MessageCommand("/me", "At the start of a message: an action, written in the third person.", "/me is checking"),
]

SMILEYS: list[Smiley] = [
    Smiley(":)", "🙂", "slightly smiling face"),
    Smiley(":-)", "🙂", "slightly smiling face"),
    Smiley(":D", "😀", "grinning face"),
    Smiley(";)", "😉", "winking face"),
    Smiley(":(", "🙁", "frowning face"),
    Smiley(":P", "😛", "face with tongue"),
    Smiley(":O", "😮", "face with open mouth"),
    Smiley(":'(", "😢", "crying face"),
    Smiley("<3", "❤️", "red heart"),
    Smiley("(y)", "👍", "thumbs up"),
    Smiley("(n)", "👎", "thumbs down"),
]
_SMILEY_BY_CODE = {s.code: s.emoji for s in SMILEYS}
_SMILEY_PATTERN = "|".join(re.escape(code) for code in sorted(_SMILEY_BY_CODE, key=len, reverse=True))

_TAG = re.compile(r"\[(/?)(b|i|u|s|quote|code|url)(?:=([^\]\s]{1,2048}))?\]", re.IGNORECASE)


@dataclass
class _Node:
    tag: str | None  # None: the root
    argument: str | None = None
    children: list["_Node | str"] = field(default_factory=list)


def _parse(text: str) -> _Node:
    """The command tree of a text. Raw tags ([code], [url]) take everything up to their closing tag."""
    root = _Node(None)
    stack = [root]
    position = 0
    while True:
        match = _TAG.search(text, position)
        if match is None:
            break
        closing, tag, argument = match.group(1) == "/", match.group(2).lower(), match.group(3)
        stack[-1].children.append(text[position:match.start()])
        position = match.end()
        if closing:
            open_tags = [node.tag for node in stack]
            if tag in open_tags:
                while stack[-1].tag != tag:
                    stack.pop()
                stack.pop()
            else:
                stack[-1].children.append(match.group(0))  # an unmatched closing command stays text
            continue
        if argument is not None and tag != "url":
            stack[-1].children.append(match.group(0))
            continue
        node = _Node(tag, argument)
        stack[-1].children.append(node)
        if tag in _RAW:
            end = re.compile(rf"\[/{tag}\]", re.IGNORECASE).search(text, position)
            stop = end.start() if end else len(text)
            node.children.append(text[position:stop])
            position = end.end() if end else len(text)
        else:
            stack.append(node)
    stack[-1].children.append(text[position:])
    return root


def _safe_url(url: str) -> str | None:
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or any(c in url for c in "\r\n\t \"'<>`"):
        return None
    return url


class _Renderer:
    def __init__(self, mentions: list[Mention]) -> None:
        names = sorted({m.name for m in mentions if m.name}, key=len, reverse=True)
        self.mention_by_name = {m.name: m for m in mentions}
        parts = [f"(?P<smiley>{_SMILEY_PATTERN})"]
        if names:
            parts.append("(?P<mention>@(?:" + "|".join(re.escape(n) for n in names) + "))")
        self.inline = re.compile("|".join(parts))

    def text(self, raw: str) -> str:
        """Escape, then replace smiley codes and mentions, then line breaks."""
        out: list[str] = []
        position = 0
        for match in self.inline.finditer(raw):
            out.append(escape(raw[position:match.start()]))
            if match.lastgroup == "smiley":
                out.append(_SMILEY_BY_CODE[match.group(0)])
            else:
                mention = self.mention_by_name[match.group(0)[1:]]
                out.append(f'<span class="mention" data-operator-id="{escape(mention.operator_gid)}">'
                           f"{escape(match.group(0))}</span>")
            position = match.end()
        out.append(escape(raw[position:]))
        return "".join(out).replace("\n", "<br/>")

    def node(self, node: _Node) -> str:
        if node.tag == "code":
            return "<pre><code>" + escape("".join(cast(list[str], node.children))) + "</code></pre>"  # raw: text only
        if node.tag == "url":
            content = "".join(cast(list[str], node.children))  # raw: text only
            url = _safe_url(node.argument if node.argument is not None else content)
            if url is None:
                source = f"[url={node.argument}]" if node.argument is not None else "[url]"
                return self.text(source + content + "[/url]")
            label = self.text(content) if node.argument is not None and content.strip() else escape(url)
            return f'<a href="{escape(url)}" rel="nofollow noopener noreferrer" target="_blank">{label}</a>'
        inner = "".join(self.text(c) if isinstance(c, str) else self.node(c) for c in node.children)
        if node.tag is None:
            return inner
        element = _ELEMENTS[node.tag]
        return f"<{element}>{inner}</{element}>"


#: characters HTML and XML do not allow in text: replaced by U+FFFD
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff\ud800-\udfff]")


def render_html(text: str, *, mentions: list[Mention] | None = None, author_name: str | None = None) -> str:
    """The message as safe, well-formed HTML (see the module docstring for what always holds)."""
    renderer = _Renderer(mentions or [])
    text = _FORBIDDEN.sub("\ufffd", text.replace("\r\n", "\n").replace("\r", "\n"))
    author_name = _FORBIDDEN.sub("\ufffd", author_name) if author_name else author_name
    if text.startswith("/me ") and len(text) > 4:
        actor = escape(author_name) + " " if author_name else ""
        return f'<span class="me">* {actor}' + renderer.node(_parse(text[4:])) + "</span>"
    return renderer.node(_parse(text))
