"""Notes on papers in a collection: Markdown with TeX math, rendered to safe HTML.

markdown-it-py (CommonMark, raw HTML off) renders the Markdown; nh3 then keeps only a
small set of tags and attributes, so nothing a note says can run or restyle the page.
Math ($...$, $$...$$, \\(...\\), \\[...\\]) is set aside before Markdown sees it (or
`a_1 * b_2` would turn into emphasis) and put back as escaped text: KaTeX renders it in
the browser, as it does for titles and abstracts (elements with class "math").
"""

import html
import re

import nh3
from markdown_it import MarkdownIt

_MATH = re.compile(r"\$\$.+?\$\$|\\\[.+?\\\]|\\\(.+?\\\)|\$[^$\n]+?\$", re.DOTALL)
_PLACEHOLDER = "\u2063MATH{}\u2063"  # an invisible separator no one types around a number
_PLACEHOLDER_RE = re.compile("\u2063MATH(\\d+)\u2063")

_markdown = (
    MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    .disable("image")
    .enable("table")
    .enable("strikethrough")
)

TAGS = {
    "p", "br", "em", "strong", "del", "code", "pre", "blockquote", "ul", "ol", "li",
    "a", "h3", "h4", "h5", "h6", "hr", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}


def _headings_down(text: str) -> str:
    """A note's "# Heading" must not compete with the page's own h1 and h2."""
    return re.sub(r"<(/?)h[12]>", r"<\1h3>", text)


def render(text: str) -> str:
    """The note as sanitised HTML ("" for an empty note)."""
    if not text.strip():
        return ""
    maths: list[str] = []

    def set_aside(match):
        maths.append(match.group(0))
        return _PLACEHOLDER.format(len(maths) - 1)

    protected = _MATH.sub(set_aside, text.replace("\u2063", ""))
    rendered = _headings_down(_markdown.render(protected))
    rendered = _PLACEHOLDER_RE.sub(lambda m: html.escape(maths[int(m.group(1))]), rendered)
    return nh3.clean(
        rendered,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener ugc",
    )
