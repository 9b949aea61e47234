"""papers.links.url_for builds the same URLs as reverse()."""

import pytest
from django.urls import reverse, set_script_prefix

from papers.links import url_for


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("papers:detail", "2411.01234"),
        ("papers:detail", "hep-th/9901001"),
        ("papers:author", "josé-garcía-pérez"),
        ("papers:author", "a b?c#d%e&f"),
        ("papers:author", "李-小龍"),
    ],
)
def test_url_for_matches_reverse(name, value):
    assert url_for(name, value) == reverse(name, args=[value])


def test_url_for_follows_the_script_prefix():
    try:
        set_script_prefix("/mounted/")
        assert url_for("papers:detail", "2411.01234") == "/mounted/papers/2411.01234/"
        assert url_for("papers:detail", "2411.01234") == reverse(
            "papers:detail", args=["2411.01234"]
        )
    finally:
        set_script_prefix("/")
