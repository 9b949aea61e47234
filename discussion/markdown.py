"""Comment bodies: Markdown in, safe HTML out, rendered once when a comment is saved.

markdown-it-py (CommonMark, raw HTML off) renders; nh3 then keeps only an allowlist of
tags and attributes, whatever the renderer let through. Math is left as text between
its delimiters ($…$, $$…$$, \\(…\\), \\[…\\]) for the page's KaTeX auto-render
(static/js/site.js, trust off, so \\href{javascript:…} stays text): a small inline rule
takes it out of Markdown's hands, or `$a_1 b_1$` would come out as emphasis.
@username becomes a link to the profile when that user exists.
"""

import re
from dataclasses import dataclass, field

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml

# Django's username characters (UnicodeUsernameValidator): letters, digits and @.+-_.
# A mention ends at a character that can't be in one, and a trailing dot is punctuation.
MENTION = re.compile(r"(?<![\w@.+-])@([\w.+-]*[\w+-])")

ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "a",
    "em",
    "strong",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title", "class"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}

_MATH_DELIMITERS = (("$$", "$$"), ("\\[", "\\]"), ("\\(", "\\)"), ("$", "$"))


@dataclass
class Rendered:
    html: str
    mentions: list[str] = field(default_factory=list)  # usernames linked, in order
    has_links: bool = False  # a link to another site (new accounts may not post them)


def mention_candidates(body: str) -> set[str]:
    return set(MENTION.findall(body))


def _math(state, silent):
    """Math between delimiters, kept verbatim (escaped) as a text token."""
    src, pos = state.src, state.pos
    for left, right in _MATH_DELIMITERS:
        if not src.startswith(left, pos):
            continue
        end = src.find(right, pos + len(left))
        if end <= pos + len(left):
            return False  # no closing delimiter, or nothing between: plain text
        if not silent:
            token = state.push("math_text", "", 0)
            token.content = src[pos : end + len(right)]
        state.pos = end + len(right)
        return True
    return False


def _mention(state, silent):
    src, pos = state.src, state.pos
    if src[pos] != "@" or (pos > 0 and re.match(r"[\w@.+-]", src[pos - 1])):
        return False
    match = MENTION.match(src, pos)
    known = state.env.get("known_usernames", set())
    if not match or match.group(1) not in known:
        return False
    if not silent:
        token = state.push("mention", "", 0)
        token.content = match.group(1)
        state.env.setdefault("mentions", []).append(match.group(1))
    state.pos = match.end()
    return True


def _render_text(self, tokens, idx, options, env):
    return escapeHtml(tokens[idx].content)


def _render_mention(self, tokens, idx, options, env):
    username = tokens[idx].content
    # The profile URL (accounts:profile): usernames hold no character needing escaping
    # in a path, and escapeHtml covers the attribute.
    href = escapeHtml(f"/u/{username}/")
    return f'<a class="mention" href="{href}">@{escapeHtml(username)}</a>'


def _build() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "typographer": False})
    # No images, from anywhere: ![alt](src) stays a link to the picture.
    md.disable("image")
    md.inline.ruler.before("escape", "math", _math)
    md.inline.ruler.before("emphasis", "mention", _mention)
    md.add_render_rule("math_text", _render_text)
    md.add_render_rule("mention", _render_mention)
    return md


_MD = _build()


def render(body: str, known_usernames: set[str] = frozenset()) -> Rendered:
    """The HTML of a comment body. `known_usernames`: the users @mentions may link to
    (the caller looks up mention_candidates(body) in one query)."""
    env = {"known_usernames": set(known_usernames)}
    tokens = _MD.parse(body, env)
    has_links = any(
        child.type == "link_open" and not str(child.attrGet("href") or "").startswith("/")
        for token in tokens
        for child in token.children or ()
    )
    html = _MD.renderer.render(tokens, _MD.options, env)
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow ugc noopener",
        strip_comments=True,
    )
    mentions = list(dict.fromkeys(env.get("mentions", [])))
    return Rendered(html=clean, mentions=mentions, has_links=has_links)
