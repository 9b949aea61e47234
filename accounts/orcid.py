"""What a connected ORCID record says about its owner.

allauth's ORCID provider keeps the whole public record (GET /v3.0/<orcid>/record, ORCID's
JSON) as the SocialAccount's extra_data, refreshed at each sign-in: the name under
"person", and the works under "activities-summary" → "works" → "group", each group and
each of its "work-summary" entries carrying "external-ids" → "external-id" entries of
{"external-id-type": "doi" | "arxiv" | ..., "external-id-value": ...}. Nothing here
fetches anything.
"""

import re
from typing import NamedTuple

from django.core.exceptions import ValidationError

from papers.arxiv_ids import parse_arxiv_id

# arXiv's own DOIs (DataCite, since 2022) name the paper: 10.48550/arXiv.2309.02506.
ARXIV_DOI = re.compile(r"^10\.48550/arxiv\.(?P<id>.+)$", re.IGNORECASE)
DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", re.IGNORECASE)


class WorkIds(NamedTuple):
    """The identifiers of the works on a record: canonical arXiv ids, lower-cased DOIs."""

    arxiv: frozenset[str]
    doi: frozenset[str]

    def __bool__(self):
        return bool(self.arxiv or self.doi)


def record_name(record: dict) -> str:
    """The name on the record: given and family names, else the published credit name."""
    name = ((record or {}).get("person") or {}).get("name") or {}

    def value(key):
        return ((name.get(key) or {}).get("value") or "").strip()

    given, family = value("given-names"), value("family-name")
    return " ".join(part for part in (given, family) if part) or value("credit-name")


def _external_ids(record: dict):
    works = ((record or {}).get("activities-summary") or {}).get("works") or {}
    for group in works.get("group") or []:
        holders = [group, *(group.get("work-summary") or [])]
        for holder in holders:
            yield from ((holder.get("external-ids") or {}).get("external-id")) or []


def normalise_doi(value: str) -> str:
    return DOI_PREFIX.sub("", (value or "").strip()).strip().lower()


def _arxiv_id(value: str) -> str | None:
    try:
        return parse_arxiv_id(value).id
    except ValidationError:
        return None


def work_ids(record: dict) -> WorkIds:
    """The arXiv ids and DOIs of the works the record lists. An arXiv DOI counts as
    the arXiv id it names; values that aren't ids (ORCID doesn't validate them) are
    left out."""
    arxiv, doi = set(), set()
    for external in _external_ids(record):
        kind = (external.get("external-id-type") or "").lower()
        value = external.get("external-id-value") or ""
        if kind == "arxiv":
            found = _arxiv_id(value)
            if found:
                arxiv.add(found)
        elif kind == "doi":
            normalised = normalise_doi(value)
            named = ARXIV_DOI.match(normalised)
            if named and _arxiv_id(named["id"]):
                arxiv.add(_arxiv_id(named["id"]))
            elif normalised.startswith("10."):
                doi.add(normalised)
    return WorkIds(frozenset(arxiv), frozenset(doi))
