"""Exports of a library and of a collection, read back with real parsers: bibtexparser
2 for BibTeX (with its LaTeX decoding) and rispy for RIS. One valid entry per paper,
unique and stable citation keys, accents right."""

import csv
import datetime as dt
import io

import bibtexparser
import pytest
import rispy
from bibtexparser.middlewares import LatexDecodingMiddleware, SeparateCoAuthors

from library import export
from library.models import Collection, SavedPaper
from papers.models import Paper

from .factories import PaperFactory, UserFactory

YEAR_2017 = dt.datetime(2017, 6, 12, tzinfo=dt.UTC)


@pytest.fixture
def reader(db):
    return UserFactory(username="reader")


@pytest.fixture
def shelf(reader):
    """Three papers whose natural keys collide, one with TeX accents in its title and
    one with Unicode names, all saved."""
    papers = [
        PaperFactory(
            arxiv_id="1706.03762",
            title="Attention Is All You Need",
            published_at=YEAR_2017,
            authors=["Ashish Vaswani", "Noam Shazeer"],
            doi="10.48550/arXiv.1706.03762",
        ),
        PaperFactory(
            arxiv_id="1706.09999",
            title="Attention Is Not All You Need",
            published_at=YEAR_2017,
            authors=["Ashish Vaswani"],
            journal_ref="J. Mach. Learn. 3 (2017) 1-9",
        ),
        PaperFactory(
            arxiv_id="1706.05555",
            title="Attention, again",
            published_at=YEAR_2017,
            authors=["Ashish Vaswani"],
        ),
        PaperFactory(
            arxiv_id="hep-th/9901001",
            title=r"On the Schr\"odinger equation {\'e}t{\'e} and \v{C}ech $H^1$ & 50% more",
            published_at=dt.datetime(1999, 1, 4, tzinfo=dt.UTC),
            authors=["José García-Pérez", "Jörg Müller", "Łukasz Øksendal"],
        ),
    ]
    for paper in papers:
        SavedPaper.objects.save_paper(reader, paper)
    return papers


def parse_bibtex(text):
    return bibtexparser.parse_string(
        text, append_middleware=[LatexDecodingMiddleware(), SeparateCoAuthors()]
    )


def test_the_library_exports_one_valid_bibtex_entry_per_paper(client, reader, shelf):
    client.force_login(reader)
    response = client.get("/library/export.bib")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-bibtex; charset=utf-8"
    assert 'filename="library-reader.bib"' in response["Content-Disposition"]
    library = parse_bibtex(response.content.decode())
    assert library.failed_blocks == []
    assert len(library.entries) == 4
    keys = [entry.key for entry in library.entries]
    assert len(set(keys)) == 4
    # The oldest arXiv id keeps the plain key; the others get a, b.
    by_id = {entry["eprint"]: entry for entry in library.entries}
    assert by_id["1706.03762"].key == "vaswani2017attention"
    assert by_id["1706.05555"].key == "vaswani2017attentiona"
    assert by_id["1706.09999"].key == "vaswani2017attentionb"
    assert by_id["1706.09999"].entry_type == "article"
    old = by_id["hep-th/9901001"]
    assert old["author"] == ["José García-Pérez", "Jörg Müller", "Łukasz Øksendal"]
    assert "Schrödinger" in old["title"] and "été" in old["title"] and "Čech" in old["title"]
    assert old.key == "garciaperez1999schrodinger"
    assert by_id["1706.03762"]["doi"] == "10.48550/arXiv.1706.03762"


def test_keys_are_stable_whatever_the_order_or_company(reader, shelf):
    papers = list(Paper.objects.with_all_authors().order_by("-id"))
    keys = export.citation_keys(papers)
    assert export.citation_keys(list(reversed(papers))) == keys
    # A newer paper with the same key does not rename the older ones.
    newer = PaperFactory(
        arxiv_id="2401.00001", title="Attention", published_at=YEAR_2017, authors=["A Vaswani"]
    )
    more = export.citation_keys(list(Paper.objects.with_all_authors()))
    assert {pk: more[pk] for pk in keys} == keys
    assert more[newer.pk] == "vaswani2017attentionc"


def test_the_library_exports_ris_that_rispy_reads_back(client, reader, shelf):
    client.force_login(reader)
    response = client.get("/library/export.ris")
    assert response.status_code == 200
    entries = rispy.loads(response.content.decode())
    assert len(entries) == 4
    by_id = {e["accession_number"]: e for e in entries}
    old = by_id["arXiv:hep-th/9901001"]
    assert old["type_of_reference"] == "UNPB"
    assert all(e["type_of_reference"] in rispy.config.TYPE_OF_REFERENCE_MAPPING for e in entries)
    assert old["title"].startswith("On the Schrödinger equation été and Čech $H^1$")
    assert old["authors"] == ["García-Pérez, José", "Müller, Jörg", "Øksendal, Łukasz"]
    assert old["year"] == "1999"
    assert old["urls"] == ["https://arxiv.org/abs/hep-th/9901001"]
    assert by_id["arXiv:1706.09999"]["type_of_reference"] == "JOUR"
    assert by_id["arXiv:1706.03762"]["doi"] == "10.48550/arXiv.1706.03762"


def test_the_library_exports_csv_with_read_state(client, reader, shelf):
    SavedPaper.objects.mark_read(reader, shelf[0], True)
    client.force_login(reader)
    response = client.get("/library/export.csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 4
    row = next(r for r in rows if r["arxiv_id"] == "1706.03762")
    assert row["authors"] == "Ashish Vaswani; Noam Shazeer" and row["read"]
    assert row["saved"]


def test_csv_cells_never_start_a_formula(reader):
    paper = PaperFactory(title='=HYPERLINK("http://evil")', authors=["@bad"])
    SavedPaper.objects.save_paper(reader, paper)
    text = export.csv_text(Paper.objects.with_all_authors().filter(pk=paper.pk))
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["title"].startswith("'=") and row["authors"].startswith("'@")


def test_a_collection_exports_in_its_order_with_notes(client, reader, shelf):
    collection = Collection.objects.create_named(reader, "Transformers", visibility="public")
    for paper in reversed(shelf):
        collection.add_paper(paper)
    collection.items.get(paper=shelf[0]).set_note("Start *here*")
    bib = client.get("/collections/reader/transformers.bib")
    assert bib.status_code == 200
    entries = parse_bibtex(bib.content.decode()).entries
    assert [e["eprint"] for e in entries] == [p.arxiv_id for p in reversed(shelf)]
    ris = rispy.loads(client.get("/collections/reader/transformers.ris").content.decode())
    assert len(ris) == 4
    rows = list(csv.DictReader(io.StringIO(
        client.get("/collections/reader/transformers.csv").content.decode()
    )))  # fmt: skip
    assert rows[-1]["note"] == "Start *here*"


def test_an_empty_library_exports_an_empty_file(client, reader):
    client.force_login(reader)
    assert client.get("/library/export.bib").content == b""
    assert rispy.loads(client.get("/library/export.ris").content.decode()) == []
    assert client.get("/library/export.pdf").status_code == 404


def test_exports_need_the_owner(client, reader, shelf):
    assert client.get("/library/export.bib")["Location"].startswith("/accounts/login/")
