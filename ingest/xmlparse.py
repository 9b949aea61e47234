"""Reading XML from the sources with lxml: safely, and keeping what can be kept.

A response cut short or broken in the middle is still worth its complete entries: a
strict parse names the error, then lxml's recovering parser reads what it can, and
each entry is checked on its own before it is used.
"""

import datetime as dt
import email.utils

from lxml import etree

# No network, no entity expansion (billion laughs, XXE), no DTDs.
_SAFE = {"resolve_entities": False, "no_network": True, "load_dtd": False, "huge_tree": False}
STRICT = etree.XMLParser(**_SAFE)
RECOVER = etree.XMLParser(recover=True, **_SAFE)


class Broken:
    """Where a document broke: its message and line."""

    def __init__(self, message: str, line: int | None = None):
        self.message, self.line = message, line

    def __str__(self):
        return self.message


def parse(content: bytes) -> tuple[etree._Element | None, Broken | None]:
    """(root, None) for good XML; (whatever could be recovered, where it broke)
    otherwise."""
    if not content or not content.strip():
        return None, Broken("empty response")
    try:
        return etree.fromstring(content, STRICT), None
    except etree.XMLSyntaxError as exc:
        broken = Broken(f"malformed XML at line {exc.lineno}: {exc.msg}", exc.lineno)
    try:
        root = etree.fromstring(content, RECOVER)
    except etree.XMLSyntaxError:
        root = None
    return root, broken


def split_at_break(elements: list, broken: Broken | None) -> tuple[list, object | None]:
    """(the elements to trust, the one the document broke in). Recovery hands back the
    broken element half-read: it must not be stored as if it were whole."""
    if broken is None or broken.line is None or not elements:
        return elements, None
    hit = None
    for element in elements:
        if element.sourceline is not None and element.sourceline <= broken.line:
            hit = element
    return [e for e in elements if e is not hit], hit


def text_of(element, path: str) -> str | None:
    """The text under `path` (any namespace: "{*}title"), None if absent."""
    if element is None:
        return None
    found = element.find(path)
    if found is None:
        return None
    return "".join(found.itertext())


def iso_datetime(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    value = value.strip()
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


_MONTHS = {
    name: n for n, name in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)
}


def rfc2822_datetime(value: str | None) -> dt.datetime | None:
    """ "Tue, 3 Apr 2007 22:04:11 GMT" (arXivRaw versions, the snapshot)."""
    if not value:
        return None
    # The form arXiv writes, read directly: the snapshot has two dates a record, and
    # email.utils takes several times as long. Anything else goes the long way.
    parts = value.split()
    if len(parts) == 6 and parts[5] == "GMT" and parts[2] in _MONTHS:
        try:
            hour, minute, second = parts[4].split(":")
            return dt.datetime(
                int(parts[3]),
                _MONTHS[parts[2]],
                int(parts[1]),
                int(hour),
                int(minute),
                int(second),
                tzinfo=dt.UTC,
            )
        except ValueError:
            pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
