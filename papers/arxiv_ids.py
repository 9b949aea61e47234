"""arXiv identifiers: both schemes, with or without a version, bare or inside a URL.

    new scheme (2007-04 on)   2406.12345, 0704.0001, 2406.12345v2
    old scheme (before)       hep-th/9901001, math.AG/0601001v1

Canonical form: no version, no "arXiv:" prefix, no subject class in old ids
(arXiv resolves math.AG/0601001 and math/0601001 to the same paper).
"""

import re
from typing import NamedTuple

from django.core.exceptions import ValidationError

NEW_ID = r"(?P<new>(?P<yymm>\d{4})\.\d{4,5})"
OLD_ID = r"(?P<old>(?P<archive>[a-z]+(?:-[a-z]+)?)(?:\.[A-Za-z]{2})?/(?P<old_yymm>\d{4})\d{3})"
VERSION = r"(?:v(?P<version>\d{1,3}))?"

ID_RE = re.compile(rf"^(?:{NEW_ID}|{OLD_ID}){VERSION}$")
# Where a submitted URL may carry the id: /abs/<id>, /pdf/<id>(.pdf), /html/<id>, /format/<id>.
URL_RE = re.compile(
    r"^(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html|format)/(?P<id>[^?#]+?)"
    r"(?:\.pdf)?/?(?:[?#].*)?$",
    re.IGNORECASE,
)
# The pattern used in URLs: an old id's slash must route.
URL_PATTERN = r"(?:\d{4}\.\d{4,5}|[a-z]+(?:-[a-z]+)?(?:\.[A-Za-z]{2})?/\d{7})"

MAX_INPUT_LENGTH = 200


class ArxivId(NamedTuple):
    id: str
    version: int | None


def _valid_yymm(yymm: str) -> bool:
    return 1 <= int(yymm[2:]) <= 12


def parse_arxiv_id(text: str) -> ArxivId:
    """Read an arXiv id, "arXiv:<id>" or an arxiv.org URL; raise ValidationError if it
    is none of these."""
    if not isinstance(text, str) or len(text) > MAX_INPUT_LENGTH:
        raise ValidationError("That is not an arXiv id.", code="invalid")
    candidate = text.strip()
    url = URL_RE.match(candidate)
    if url:
        candidate = url.group("id")
    if candidate[:6].lower() == "arxiv:":
        candidate = candidate[6:]
    match = ID_RE.match(candidate)
    if not match:
        raise ValidationError(
            "“%(value)s” is not an arXiv id (expected e.g. 2406.12345 or hep-th/9901001).",
            code="invalid",
            params={"value": text.strip()[:60]},
        )
    if match.group("new"):
        if not _valid_yymm(match.group("yymm")):
            raise ValidationError(
                "“%(value)s” has no valid month.", code="invalid", params={"value": candidate}
            )
        canonical = match.group("new")
    else:
        if not _valid_yymm(match.group("old_yymm")):
            raise ValidationError(
                "“%(value)s” has no valid month.", code="invalid", params={"value": candidate}
            )
        canonical = f"{match.group('archive')}/{match.group('old')[-7:]}"
    version = match.group("version")
    return ArxivId(canonical, int(version) if version else None)


def validate_arxiv_id(value: str) -> None:
    """Model validator: the value must be a canonical id (no version, no prefix)."""
    if parse_arxiv_id(value).id != value:
        raise ValidationError(
            "“%(value)s” is not a canonical arXiv id.", code="invalid", params={"value": value}
        )


def is_old_style(arxiv_id: str) -> bool:
    return "/" in arxiv_id
