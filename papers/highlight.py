"""Highlighted text that cannot inject HTML.

Highlighting works in two steps so that no text from a paper is ever trusted: search
(PostgreSQL's ts_headline, or search.fulltext.mark_terms on SQLite) wraps matches in two
private-use characters instead of tags; `render_marked` then escapes every piece of text
and turns only those characters into <mark> and </mark>, always balanced. Paper cards
render `title_marked`/`abstract_marked` with it (the `marked` filter).
"""

import re

from django.utils.html import escape
from django.utils.safestring import mark_safe

START, STOP = "\ue000", "\ue001"


def render_marked(text: str | None) -> str:
    """Escape `text` and turn the highlight markers into balanced <mark> elements."""
    out, is_open = [], False
    for piece in re.split(f"([{START}{STOP}])", text or ""):
        if piece == START:
            if not is_open:
                out.append("<mark>")
                is_open = True
        elif piece == STOP:
            if is_open:
                out.append("</mark>")
                is_open = False
        elif piece:
            out.append(escape(piece))
    if is_open:
        out.append("</mark>")
    return mark_safe("".join(out))
