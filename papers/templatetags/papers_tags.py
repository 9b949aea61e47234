"""Filters for paper text: KaTeX-safe snippets, unwrapped lines, paragraphs, and search
highlights (see papers.highlight)."""

import re

from django import template

from .. import cards, highlight, links, pageparts

register = template.Library()

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_MATH_DELIMITER = re.compile(r"(?<!\\)(\$\$|\$|\\\(|\\\)|\\\[|\\\])")
_CLOSING = {"$$": "$$", "$": "$", "\\(": "\\)", "\\[": "\\]"}


@register.filter
def marked(text):
    """Escaped text with search matches in <mark>."""
    return highlight.render_marked(text)


@register.filter
def unwrap(text):
    """arXiv titles and abstracts come hard-wrapped; one line each for display."""
    return " ".join((text or "").split())


@register.filter
def paragraphs(text):
    """An abstract's paragraphs (separated by blank lines), each unwrapped."""
    parts = (" ".join(p.split()) for p in _PARAGRAPH_BREAK.split(text or ""))
    return [p for p in parts if p]


@register.filter
def snippet(text, length=280):
    """The start of `text`, cut at a word boundary, never inside a $...$ or \\(...\\)
    formula (half a formula would show as raw TeX)."""
    text = unwrap(text)
    length = int(length)
    if len(text) <= length:
        return text
    cut = text[:length]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    opened = _unclosed_formula(cut)
    if opened is not None:
        cut = cut[:opened]
    return cut.rstrip(" ,;:-") + "…"


def _unclosed_formula(text):
    """Where the formula left open at the end of `text` starts, or None."""
    opener = start = None
    for match in _MATH_DELIMITER.finditer(text):
        token = match.group(1)
        if opener is None and token in _CLOSING:
            opener, start = token, match.start()
        elif opener is not None and token == _CLOSING[opener]:
            opener = start = None
    return start


@register.filter
def initials(name):
    """Up to two initials, for an avatar."""
    letters = [part[0] for part in (name or "").split() if part[:1].isalpha()]
    return "".join(letters[:1] + letters[1:][-1:]).upper() or "?"


register.filter("http_url", links.http_url)


@register.simple_tag(takes_context=True)
def paper_cards(context, papers):
    """The cards of a list (templates/papers/_card.html each), from the card cache
    where it has them (papers.cards)."""
    return cards.render_cards(context, papers)


@register.simple_tag(takes_context=True)
def paper_cards_each(context, papers):
    """{pk: card} for `papers`, from the card cache (papers.cards.render_each), for a
    page that puts each card beside its own controls:
    `{% paper_cards_each papers as cards %}`, then `{{ cards|card_for:paper }}`."""
    return cards.render_each(context, papers)


@register.filter
def card_for(each, paper):
    """The card of `paper` in what paper_cards_each gave."""
    return each.get(paper.pk, "")


class PagePartNode(template.Node):
    def __init__(self, name: str, nodelist):
        self.name, self.nodelist = name, nodelist

    def render(self, context):
        return pageparts.render(context, self.name, self.nodelist)


@register.tag
def pagepart(parser, token):
    """`{% pagepart "name" %}...{% endpagepart %}`: a part of the paper page that is the
    same for every reader, cached under a key of what it shows (papers.pageparts)."""
    bits = token.split_contents()
    name = bits[1].strip("\"'") if len(bits) == 2 else ""
    if name not in pageparts.PARTS:
        raise template.TemplateSyntaxError(f"pagepart takes one of {pageparts.PARTS}")
    nodelist = parser.parse(("endpagepart",))
    parser.delete_first_token()
    return PagePartNode(name, nodelist)
