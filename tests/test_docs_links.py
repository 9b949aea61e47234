"""The documentation holds together: every relative link in README.md and docs/*.md
points to a file that exists (and, with a #fragment, to a heading in it), and README.md
stays short enough to read in five minutes."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_BYTES = 10 * 1024

FENCED = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
INDENTED = re.compile(r"^(?: {4}|\t).*$", re.M)
INLINE_CODE = re.compile(r"`[^`\n]*`")
# [text](target) and ![alt](target), with an optional "title" after the target.
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def prose(text):
    """The Markdown without code, whose brackets and parentheses are not links."""
    text = FENCED.sub("", text)
    text = INDENTED.sub("", text)
    return INLINE_CODE.sub("", text)


def links(path):
    return LINK.findall(prose(path.read_text(encoding="utf-8")))


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1) or "", heading)
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(path):
    text = FENCED.sub("", path.read_text(encoding="utf-8"))
    seen, result = {}, set()
    for heading in HEADING.findall(text):
        base = slug(heading)
        count = seen.get(base, 0)
        result.add(base if count == 0 else f"{base}-{count}")
        seen[base] = count + 1
    return result


def relative_links():
    for page in PAGES:
        for target in links(page):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("//"):
                continue  # http:, https:, mailto: — not ours to check offline
            yield page, target


def test_the_documentation_has_the_pages_the_readme_promises():
    names = {p.name for p in PAGES if p.parent.name == "docs"}
    assert {
        "README.md",
        "configuration.md",
        "deployment.md",
        "ingestion.md",
        "digests.md",
        "search.md",
        "performance.md",
        "security.md",
        "api.md",
        "testing.md",
        "accounts.md",
        "library.md",
    } <= names


def test_the_link_finder_sees_links_and_skips_code(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "See [a](a.md) and ![b](img/b.png).\n"
        "`[not](code.md)`\n\n```sh\n[nor](fenced.md)\n```\n\n    [nor](indented.md)\n"
    )
    assert links(page) == ["a.md", "img/b.png"]


def test_headings_become_githubs_anchors():
    assert slug("Rate limits answer 429") == "rate-limits-answer-429"
    assert slug("Headers and Content-Security-Policy") == "headers-and-content-security-policy"
    assert (
        slug("Web server (gunicorn, `config/gunicorn.py`)")
        == "web-server-gunicorn-configgunicornpy"
    )


@pytest.mark.parametrize(
    "page,target",
    list(relative_links()),
    ids=lambda v: str(v.relative_to(ROOT)) if isinstance(v, Path) else v,
)
def test_every_relative_link_resolves(page, target):
    path, _, fragment = target.partition("#")
    destination = (page.parent / path).resolve() if path else page
    assert destination.exists(), f"{page.relative_to(ROOT)} links to missing {target}"
    if fragment and destination.suffix == ".md":
        assert fragment in anchors(destination), (
            f"{page.relative_to(ROOT)} links to #{fragment}, "
            f"which is no heading of {destination.relative_to(ROOT)}"
        )


def test_every_docs_page_is_linked_from_the_index():
    index = ROOT / "docs" / "README.md"
    linked = {(index.parent / t.partition("#")[0]).resolve() for t in links(index)}
    for page in PAGES:
        if page.parent.name == "docs" and page != index:
            assert page.resolve() in linked, f"docs/README.md does not link {page.name}"


def test_the_readme_stays_under_ten_kilobytes():
    size = len(README.read_bytes())
    assert size < README_MAX_BYTES, f"README.md is {size} bytes; move detail into docs/"


def table_rows_with_wrong_width(text):
    """Rows of Markdown tables whose cell count differs from their header's. A `|` inside
    backticks still splits a cell on GitHub, so only an escaped one (\\|) is not counted."""
    lines = FENCED.sub("", text).splitlines()
    wrong, header_cells = [], None
    for number, line in enumerate(lines, 1):
        if not line.startswith("|"):
            header_cells = None
            continue
        cells = len(re.findall(r"(?<!\\)\|", line))
        if header_cells is None:
            header_cells = cells
        elif cells != header_cells:
            wrong.append((number, line))
    return wrong


def test_the_table_checker_finds_a_row_with_an_unescaped_pipe():
    table = "| a | b |\n|---|---|\n| `x\\|y` | z |\n| `x|y` | z |\n"
    assert [n for n, _ in table_rows_with_wrong_width(table)] == [4]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_table_row_has_as_many_cells_as_its_header(page):
    assert table_rows_with_wrong_width(page.read_text(encoding="utf-8")) == []


TOP_DIRS = (
    ".ci",
    "accounts",
    "bench",
    "config",
    "digests",
    "docs",
    "ingest",
    "library",
    "locale",
    "papers",
    "search",
    "static",
    "templates",
    "tests",
)
# Made at run time or installed, not in the repository.
GENERATED = ("var/", "bench/out/", "node_modules/")
# A section whose heading says things moved, up to the next heading of any level.
FORMER_PLACES = re.compile(r"^#{1,6} [^\n]*\bmoved\b.*?(?=^#{1,6} |\Z)", re.S | re.M | re.I)


def code_paths(text):
    """Repository paths the prose names in backticks: `ingest/throttle.py`, `tests/`,
    `test_search.py` (a test file), `tests/test_attack_*.py` (a glob), `papers/migrations/0008`
    (a file's beginning). An elided path (`templates/papers/...`) is no name, and a section
    that records where things moved ("## Where things moved in issue 11") names former
    places on purpose."""
    text = FORMER_PLACES.sub("", FENCED.sub("", text))
    for span in INLINE_CODE.findall(text):
        span = span.strip("`").split("::")[0]
        if re.fullmatch(r"test_[\w*]+\.py", span):
            yield f"tests/{span}"
        elif (
            re.fullmatch(r"[\w.*/-]+", span)
            and span.split("/")[0] in TOP_DIRS
            and "/" in span
            and not span.startswith(GENERATED)
            and "..." not in span
        ):
            yield span


def test_the_path_finder_sees_paths_in_code_spans_only():
    text = (
        "`ingest/throttle.py`, `test_search.py::test_x`, `make run`, `a/b`, ingest/x.py, "
        "`templates/papers/...`\n## Where things moved\n`papers/search.py`\n## Next\n`search/`"
    )
    assert list(code_paths(text)) == ["ingest/throttle.py", "tests/test_search.py", "search/"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_file_the_docs_name_exists(page):
    missing = [
        path
        for path in code_paths(page.read_text(encoding="utf-8"))
        if not any(ROOT.glob(path.rstrip("/"))) and not any(ROOT.glob(path + "*"))
    ]
    assert missing == [], f"{page.relative_to(ROOT)} names files that are not there"
