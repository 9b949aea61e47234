import pytest
from django.core.exceptions import ValidationError

from papers.arxiv_ids import parse_arxiv_id


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2406.12345", ("2406.12345", None)),
        ("2406.12345v3", ("2406.12345", 3)),
        ("0704.0001", ("0704.0001", None)),
        ("arXiv:2406.12345", ("2406.12345", None)),
        ("hep-th/9901001", ("hep-th/9901001", None)),
        ("math.AG/0601001v2", ("math/0601001", 2)),
        ("https://arxiv.org/abs/2406.12345v2", ("2406.12345", 2)),
        ("https://arxiv.org/pdf/2406.12345.pdf", ("2406.12345", None)),
        ("http://arxiv.org/abs/hep-th/9901001", ("hep-th/9901001", None)),
        ("  2406.12345  ", ("2406.12345", None)),
    ],
)
def test_it_reads_ids_in_both_schemes_and_urls(text, expected):
    assert tuple(parse_arxiv_id(text)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "abc",
        "",
        "2413.12345",
        "2406.123",
        "hep-th/99010",
        "https://example.org/abs/2406.12345",
        "2406.12345; DROP TABLE",
        "x" * 10_000,
        "2406.12345v",
    ],
)
def test_it_rejects_what_is_not_an_arxiv_id(text):
    with pytest.raises(ValidationError):
        parse_arxiv_id(text)
