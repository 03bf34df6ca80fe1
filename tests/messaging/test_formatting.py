"""Message.html: escaped first, then commands, smileys and mentions; always safe, well-formed HTML."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from hypothesis import given, settings, strategies as st

from services.messaging.formatting import COMMANDS, SMILEYS, Mention, render_html

ALLOWED_TAGS = {"strong", "em", "u", "s", "blockquote", "pre", "code", "a", "br", "span", "div"}
FRAGMENTS = ["[b]", "[/b]", "[i]", "[/i]", "[u]", "[/u]", "[s]", "[/s]", "[quote]", "[/quote]", "[code]", "[/code]",
             "[url]", "[/url]", "[url=https://example.com/a?b=1&c=2]", "[url=javascript:alert(1)]", "https://x.y",
             "javascript:alert(1)", "<", ">", "&", '"', "'", "<script>", "</div>", "<img src=x onerror=1>", ":)",
             "<3", "@Ann Lee", "/me ", "\n", "&amp;", "&lt;", "]", "[", "=", " ", "x"]
hostile_text = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=5)), max_size=30).map("".join)


def parse(html: str) -> ET.Element:
    """Fails unless the output is well-formed (XML-strict: every tag closed, every entity known)."""
    return ET.fromstring(f"<div>{html}</div>")


@settings(max_examples=400, deadline=None)
@given(hostile_text)
def test_html_is_always_well_formed_and_never_carries_markup_from_the_input(text):
    html = render_html(text, mentions=[Mention("T3BlcmF0b3I6MQ", "Ann Lee")], author_name="<b>Bob</b>")
    root = parse(html)
    for element in root.iter():
        assert element.tag in ALLOWED_TAGS
        assert set(element.attrib) <= {"href", "rel", "target", "class", "data-operator-id"}
        if element.tag == "a":
            assert element.attrib["href"].startswith(("http://", "https://"))
    # every "<" of the output opens one of our tags: none comes from the input
    for match in re.finditer(r"<", html):
        assert re.match(r"</?(strong|em|u|s|blockquote|pre|code|a|br|span)[ />]", html[match.start():])


@given(st.text(max_size=200))
def test_plain_text_reads_back_unchanged_apart_from_smileys(text):
    stripped = "".join(c for c in text if c not in "[]:;<(/@\r" and (c.isprintable() or c == "\n"))
    root = parse(render_html(stripped))
    assert "".join(root.itertext()) == stripped.replace("\n", "")


def test_commands_render_to_their_elements():
    assert render_html("[b]bold[/b] [i]it[/i] [u]u[/u] [s]s[/s]") == \
        "<strong>bold</strong> <em>it</em> <u>u</u> <s>s</s>"
    assert render_html("[quote]Where is my order?[/quote]") == "<blockquote>Where is my order?</blockquote>"
    assert render_html("[code][b]not bold[/b] <x>[/code]") == "<pre><code>[b]not bold[/b] &lt;x&gt;</code></pre>"
    assert render_html("[url]https://example.com/?a=1&b=2[/url]") == \
        '<a href="https://example.com/?a=1&amp;b=2" rel="nofollow noopener noreferrer" target="_blank">' \
        "https://example.com/?a=1&amp;b=2</a>"
    assert render_html("[url=https://example.com]our [b]site[/b][/url]").endswith(">our [b]site[/b]</a>")


def test_unbalanced_and_crossed_tags_are_closed_or_left_as_text():
    assert render_html("[b]open") == "<strong>open</strong>"
    assert render_html("close[/b]") == "close[/b]"
    assert render_html("[b]a[i]b[/b]c[/i]") == "<strong>a<em>b</em></strong>c[/i]"


def test_dangerous_links_and_markup_stay_text():
    assert render_html("[url]javascript:alert(1)[/url]") == "[url]javascript:alert(1)[/url]"
    assert render_html('[url=https://a.b/" onclick="x]t[/url]') == '[url=https://a.b/&quot; onclick=&quot;x]t[/url]'
    assert render_html("<script>alert('x')</script>") == "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;"


def test_smileys_mentions_me_and_line_breaks():
    assert render_html("hi :) <3") == "hi 🙂 ❤️"
    html = render_html("ask @Ann Lee\nplease", mentions=[Mention("T3A6MQ", "Ann Lee")])
    assert html == 'ask <span class="mention" data-operator-id="T3A6MQ">@Ann Lee</span><br/>please'
    assert render_html("/me is checking", author_name="Bob") == '<span class="me">* Bob is checking</span>'


def test_every_command_and_smiley_is_described_with_a_working_example():
    assert {c.command for c in COMMANDS} >= {"[b]", "[i]", "[u]", "[s]", "[quote]", "[code]", "[url]", "/me"}
    for command in COMMANDS:
        assert command.description and command.example
        assert render_html(command.example) != command.example.replace("<", "&lt;")  # the example does something
    assert all(render_html(s.code) == s.emoji for s in SMILEYS)
