"""First-page thumbnails: real PDFs rendered by PDFium in a child process, stored through
Django's storage API, fetched from arXiv (a local server) through the arXiv throttle,
and bad PDFs (made here byte by byte) refused with a reason while the worker lives."""

import datetime as dt
import io
import logging
import time
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image, ImageChops, ImageStat

from ingest.records import TransientSourceError
from ingest.submit import feature_paper
from thumbnails.models import Thumbnail
from thumbnails.render import Refused, render_pdf
from thumbnails.service import make_thumbnail, render_and_store

from . import pdf_makers
from .factories import PaperFactory
from .recorded_http import FIXTURES, RecordedServer

PDFS = sorted((FIXTURES / "pdf").glob("*.pdf"))
SPECTER = FIXTURES / "pdf" / "2020.acl-main.207.pdf"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def arxiv_pdfs(settings):
    with RecordedServer() as server:
        settings.ARXIV_PDF_URL = f"{server.url}/pdf/{{arxiv_id}}"
        settings.ARXIV_REQUEST_INTERVAL = 0
        yield server


def serve_pdf(server, arxiv_id, body, headers=None, **kwargs):
    headers = {"Content-Type": "application/pdf"} | (headers or {})
    server.add(f"/pdf/{arxiv_id}", body=body, headers=headers, **kwargs)


def write(tmp_path, name, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --- Rendering ----------------------------------------------------------------------------


def test_the_three_real_pdfs_are_there():
    assert [p.name for p in PDFS] == [
        "2020.acl-main.207.pdf",
        "2023.eacl-main.121.pdf",
        "N18-3011.pdf",
    ]


@pytest.mark.parametrize("pdf", PDFS, ids=lambda p: p.name)
def test_page_one_of_a_real_paper_becomes_a_480_pixel_wide_webp(pdf):
    rendered = render_pdf(pdf)

    image = Image.open(io.BytesIO(rendered.webp))
    assert image.format == "WEBP"
    assert (rendered.width, rendered.height) == image.size
    # US letter or A4 at 480 px wide.
    assert rendered.width == 480 and 600 <= rendered.height <= 700
    assert rendered.pages > 1
    # Text on a white page: mostly white, with dark ink.
    grey = image.convert("L")
    assert grey.getextrema() == (grey.getextrema()[0], 255) and grey.getextrema()[0] < 80
    assert 10_000 < len(rendered.webp) < 120_000


@pytest.mark.parametrize("pdf", PDFS, ids=lambda p: p.name)
def test_the_same_render_gives_the_card_its_pages_top_at_twice_its_slot(pdf):
    rendered = render_pdf(pdf)

    card = Image.open(io.BytesIO(rendered.card_webp))
    assert card.format == "WEBP"
    # The slot is 68 x 51 CSS px (site.css .card-thumb: 4.25rem at 4:3), at 2x.
    assert (rendered.card_width, rendered.card_height) == card.size == (136, 102)
    assert len(rendered.card_webp) < 6_000 < len(rendered.webp) // 5
    # It is the page's top (what the slot showed of the whole page), not all of it.
    page = Image.open(io.BytesIO(rendered.webp)).convert("L")
    top = page.crop((0, 0, 480, 360)).resize(card.size)
    whole = page.resize(card.size)
    grey = card.convert("L")

    def distance(other):
        return ImageStat.Stat(ImageChops.difference(grey, other)).mean[0]

    assert distance(top) * 3 < distance(whole)


def test_a_landscape_pages_card_is_its_middle(tmp_path):
    """plain_pdf's blue square sits 72-272 pt from the left: on an 800 x 400 pt page the
    card (its middle 533 pt) shows it at its left edge only."""
    pdf = write(tmp_path, "wide.pdf", pdf_makers.plain_pdf(width=800, height=400))

    rendered = render_pdf(pdf)

    card = Image.open(io.BytesIO(rendered.card_webp)).convert("RGB")
    assert card.size == (136, 102)
    red, green, blue = card.getpixel((10, 60))
    assert blue > 200 and red < 60 and green < 60
    assert min(card.getpixel((120, 60))) > 230


def test_a_thumbnail_is_stored_through_the_storage_api(db, media):
    paper = PaperFactory(arxiv_id="2004.07180")

    thumbnail = render_and_store(paper, SPECTER)

    assert thumbnail.status == Thumbnail.Status.READY and thumbnail.attempts == 1
    assert thumbnail.image.name.startswith("thumbnails/2004.07180-")
    assert thumbnail.image.name.endswith(".webp")
    assert default_storage.exists(thumbnail.image.name)
    assert (media / thumbnail.image.name).is_file()
    assert thumbnail.url == f"/media/{thumbnail.image.name}"
    assert (thumbnail.width, thumbnail.height) == Image.open(media / thumbnail.image.name).size
    assert thumbnail.pdf_bytes == SPECTER.stat().st_size
    # The card's image beside it, in the same row.
    assert thumbnail.card_image.name.startswith("thumbnails/2004.07180-")
    assert thumbnail.card_image.name.endswith(".card.webp")
    card_file = media / thumbnail.card_image.name
    assert card_file.is_file() and card_file.stat().st_size < 6_000
    assert (thumbnail.card_width, thumbnail.card_height) == Image.open(card_file).size == (136, 102)
    assert thumbnail.card == (f"/media/{thumbnail.card_image.name}", 136, 102)
    stored = Thumbnail.objects.get()
    assert (stored.image, stored.card_image) == (thumbnail.image, thumbnail.card_image)


def test_rendering_again_replaces_the_old_image(db, django_capture_on_commit_callbacks):
    paper = PaperFactory(arxiv_id="2004.07180")
    first = render_and_store(paper, SPECTER)

    with django_capture_on_commit_callbacks(execute=True):
        second = render_and_store(paper, FIXTURES / "pdf" / "N18-3011.pdf")

    assert second.image.name != first.image.name
    assert second.card_image.name != first.card_image.name
    assert default_storage.exists(second.image.name)
    assert default_storage.exists(second.card_image.name)
    assert not default_storage.exists(first.image.name)
    assert not default_storage.exists(first.card_image.name)
    assert Thumbnail.objects.get().attempts == 2


def test_deleting_a_paper_deletes_its_image(db, django_capture_on_commit_callbacks):
    paper = PaperFactory()
    thumbnail = render_and_store(paper, SPECTER)
    names = [thumbnail.image.name, thumbnail.card_image.name]
    assert all(default_storage.exists(name) for name in names)

    with django_capture_on_commit_callbacks(execute=True):
        paper.delete()

    assert not any(default_storage.exists(name) for name in names)


# --- Bad PDFs ---------------------------------------------------------------------------------


def _bad_pdfs():
    real = SPECTER.read_bytes()
    return {
        "truncated": (real[: len(real) // 2], "truncated"),
        "not a PDF": (b"<!doctype html><title>arXiv</title><p>Not found</p>\n" * 20, "not a PDF"),
        "empty": (b"", "not a PDF"),
        "encrypted": (pdf_makers.encrypted_pdf(), "encrypted"),
        "password": (pdf_makers.encrypted_pdf(user_password=b"secret"), "needs a password"),
        "too tall": (pdf_makers.plain_pdf(width=200, height=14000), "too tall"),
        "header only": (b"%PDF-1.7\n garbage \n%%EOF\n", "could not open"),
    }


@pytest.mark.parametrize("case", list(_bad_pdfs()))
def test_a_bad_pdf_is_refused_with_its_reason_and_logged(db, tmp_path, case, caplog):
    data, reason = _bad_pdfs()[case]
    paper = PaperFactory()

    with caplog.at_level(logging.WARNING, logger="thumbnails"):
        thumbnail = render_and_store(paper, write(tmp_path, "bad.pdf", data))

    assert thumbnail.status == Thumbnail.Status.REFUSED
    assert reason in thumbnail.reason
    assert not thumbnail.image and not thumbnail.url
    assert not thumbnail.card_image and thumbnail.card is None
    assert reason in caplog.text and paper.arxiv_id in caplog.text
    # Neither image was stored.
    assert not default_storage.exists("thumbnails")


def test_a_pdf_over_the_byte_cap_is_refused_unread(db, settings):
    settings.THUMBNAIL_MAX_PDF_BYTES = 500_000

    with pytest.raises(Refused, match=r"too big: 699,649 bytes \(at most 500,000\)"):
        render_pdf(SPECTER)


def test_a_made_pdf_renders(tmp_path):
    """The maker's PDFs are valid: the refusals above are about what they test."""
    rendered = render_pdf(write(tmp_path, "plain.pdf", pdf_makers.plain_pdf()))
    assert (rendered.width, rendered.height) == (480, 622)  # 792 pt tall at 480/612


def test_a_decompression_bomb_renders_in_bounded_memory(tmp_path, settings):
    """8,000 x 8,000 RGB: 192 MB decoded from ~190 kB. PDFium downsamples while it
    decodes, so page 1 costs tens of MB, under a limit smaller than the image."""
    settings.THUMBNAIL_MEMORY_LIMIT_MB = 160
    rendered = render_pdf(write(tmp_path, "bomb.pdf", pdf_makers.bomb_pdf(8000)))

    assert rendered.width == 480
    assert rendered.child_maxrss_kb < 160 * 1024


def test_a_renderer_over_its_memory_limit_fails_alone(tmp_path, settings):
    settings.THUMBNAIL_MEMORY_LIMIT_MB = 12  # not even enough to start Python

    with pytest.raises(Refused, match="renderer"):
        render_pdf(SPECTER)
    # This process (the worker) goes on rendering.
    settings.THUMBNAIL_MEMORY_LIMIT_MB = 512
    assert render_pdf(SPECTER).width == 480


def test_a_renderer_over_its_time_is_stopped(tmp_path, settings):
    settings.THUMBNAIL_RENDER_TIMEOUT = 0.05
    started = time.monotonic()

    with pytest.raises(Refused, match=r"took longer than 0.05 s"):
        render_pdf(SPECTER)
    assert time.monotonic() - started < 2


# --- Fetching from arXiv ------------------------------------------------------------------


def test_the_pdf_is_fetched_from_arxiv_and_its_temporary_file_deleted(
    db, arxiv_pdfs, tmp_path, monkeypatch
):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    paper = PaperFactory(arxiv_id="2004.07180")
    serve_pdf(arxiv_pdfs, "2004.07180", SPECTER.read_bytes())

    thumbnail = make_thumbnail(paper)

    assert thumbnail.status == Thumbnail.Status.READY
    assert [r.path for r in arxiv_pdfs.requests] == ["/pdf/2004.07180"]
    assert "Daily Papers" in arxiv_pdfs.requests[0].headers["User-Agent"]
    assert list((tmp_path / "tmp").iterdir()) == []


def test_pdf_fetches_keep_the_arxiv_interval(db, arxiv_pdfs, settings):
    settings.ARXIV_REQUEST_INTERVAL = 0.5
    papers = [PaperFactory() for _ in range(3)]
    for paper in papers:
        serve_pdf(arxiv_pdfs, paper.arxiv_id, pdf_makers.plain_pdf())

    for paper in papers:
        make_thumbnail(paper)

    times = [r.at for r in arxiv_pdfs.requests]
    assert len(times) == 3
    assert all(later - earlier >= 0.45 for earlier, later in zip(times, times[1:], strict=False))


def test_a_pdf_arxiv_does_not_have_is_recorded_as_failed(db, arxiv_pdfs):
    paper = PaperFactory()
    serve_pdf(arxiv_pdfs, paper.arxiv_id, b"Not found", status=404)

    thumbnail = make_thumbnail(paper)

    assert thumbnail.status == Thumbnail.Status.FAILED
    assert "HTTP 404" in thumbnail.reason


def test_a_pdf_over_the_cap_is_not_downloaded(db, arxiv_pdfs, settings):
    settings.THUMBNAIL_MAX_PDF_BYTES = 100_000
    paper = PaperFactory()
    serve_pdf(arxiv_pdfs, paper.arxiv_id, SPECTER.read_bytes())

    thumbnail = make_thumbnail(paper)

    assert thumbnail.status == Thumbnail.Status.REFUSED
    assert thumbnail.reason == "too big: 699,649 bytes (at most 100,000)"


def test_arxiv_overloaded_is_raised_for_a_retry_and_keeps_a_ready_image(db, arxiv_pdfs):
    paper = PaperFactory()
    ready = render_and_store(paper, SPECTER)
    serve_pdf(arxiv_pdfs, paper.arxiv_id, b"busy", status=503, headers={"Retry-After": "600"})

    with pytest.raises(TransientSourceError):
        make_thumbnail(paper)

    thumbnail = Thumbnail.objects.get()
    assert thumbnail.status == Thumbnail.Status.READY
    assert thumbnail.image.name == ready.image.name
    assert "HTTP 503" in thumbnail.reason


# --- Queued when a paper joins a daily list -------------------------------------------------


def test_a_submitted_paper_gets_its_thumbnail_once_featured(
    db, arxiv_pdfs, settings, submitter, django_capture_on_commit_callbacks
):
    settings.THUMBNAILS_AUTO = True
    paper = PaperFactory(daily_date=None)
    serve_pdf(arxiv_pdfs, paper.arxiv_id, SPECTER.read_bytes())

    with django_capture_on_commit_callbacks(execute=True):
        assert feature_paper(paper.pk, submitter)

    assert Thumbnail.objects.get(paper=paper).status == Thumbnail.Status.READY


def test_the_sweep_queues_featured_papers_without_one(db, arxiv_pdfs, settings):
    from thumbnails.tasks import queue_missing_thumbnails

    done, refused, todo = PaperFactory(), PaperFactory(), PaperFactory()
    render_and_store(done, SPECTER)
    render_and_store(refused, write(Path(settings.MEDIA_ROOT).parent, "x.pdf", b"junk"))
    PaperFactory(daily_date=None)  # never featured: no thumbnail wanted
    serve_pdf(arxiv_pdfs, todo.arxiv_id, SPECTER.read_bytes())

    assert queue_missing_thumbnails() == 1

    assert [r.path for r in arxiv_pdfs.requests] == [f"/pdf/{todo.arxiv_id}"]
    assert Thumbnail.objects.get(paper=todo).status == Thumbnail.Status.READY


# --- The command ------------------------------------------------------------------------------


def test_the_command_renders_a_local_pdf_for_a_paper(db, capsys):
    paper = PaperFactory(arxiv_id="1805.02262")

    call_command(
        "render_thumbnails",
        "--file",
        str(FIXTURES / "pdf" / "N18-3011.pdf"),
        "--paper",
        "1805.02262",
    )

    assert Thumbnail.objects.get(paper=paper).is_ready
    assert "1 rendered, 0 failed" in capsys.readouterr().out


def test_the_command_renders_the_missing_and_names_failures(db, arxiv_pdfs, capsys):
    good, bad = PaperFactory(), PaperFactory()
    serve_pdf(arxiv_pdfs, good.arxiv_id, SPECTER.read_bytes())
    serve_pdf(arxiv_pdfs, bad.arxiv_id, SPECTER.read_bytes()[:5000])

    with pytest.raises(CommandError, match=r"1 thumbnail\(s\) failed"):
        call_command("render_thumbnails", "--missing")

    out = capsys.readouterr()
    assert "1 rendered, 1 failed" in out.out
    assert f"failed: {bad.arxiv_id}: truncated" in out.err
    assert Thumbnail.objects.get(paper=good).is_ready
    # Run again: nothing missing (the refused one is not retried), nothing fetched.
    arxiv_pdfs.requests.clear()
    call_command("render_thumbnails", "--missing")
    assert arxiv_pdfs.requests == []


def as_rendered_before_card_images(thumbnail):
    """A row as rendering stored it before cards had their own image: the page only."""
    default_storage.delete(thumbnail.card_image.name)
    Thumbnail.objects.filter(pk=thumbnail.pk).update(
        card_image="", card_width=None, card_height=None
    )
    thumbnail.refresh_from_db()
    return thumbnail


def test_an_old_row_without_a_card_image_shows_the_page_until_missing_makes_one(
    db, client, arxiv_pdfs, capsys, media
):
    paper = PaperFactory()
    old = as_rendered_before_card_images(render_and_store(paper, SPECTER))

    page = client.get(f"/papers/date/{paper.daily_date:%Y-%m-%d}/").content.decode()
    assert f'src="{old.url}" width="480" height="679"' in page
    assert old.card == (old.url, 480, 679)

    call_command("render_thumbnails", "--missing")

    # From the stored page: arXiv is not asked for the PDF again.
    assert arxiv_pdfs.requests == []
    assert "1 card image(s) made from stored thumbnails" in capsys.readouterr().out
    new = Thumbnail.objects.get(paper=paper)
    assert new.image == old.image and new.card_image.name.endswith(".card.webp")
    card_file = media / new.card_image.name
    assert Image.open(card_file).size == (136, 102) and card_file.stat().st_size < 6_000
    page = client.get(f"/papers/date/{paper.daily_date:%Y-%m-%d}/").content.decode()
    assert f'src="{new.card.url}" width="136" height="102"' in page
    assert old.url not in page
    # Run again: nothing left to make.
    call_command("render_thumbnails", "--missing")
    assert "card image" not in capsys.readouterr().out


@pytest.mark.parametrize("damage", ["gone", "not an image", "too big"])
def test_a_stored_page_gone_or_damaged_is_a_named_failure(db, arxiv_pdfs, capsys, media, damage):
    paper = PaperFactory()
    old = as_rendered_before_card_images(render_and_store(paper, SPECTER))
    stored = media / old.image.name
    if damage == "gone":
        stored.unlink()
    elif damage == "not an image":
        stored.write_bytes(b"<html>not a page</html>")
    else:  # decoded in the child, which takes only what a render writes
        Image.new("RGB", (2000, 3000), "white").save(stored, "WEBP")

    with pytest.raises(CommandError, match=r"1 thumbnail\(s\) failed"):
        call_command("render_thumbnails", "--missing")

    assert f"failed: {paper.arxiv_id}: card image:" in capsys.readouterr().err
    assert not Thumbnail.objects.get(paper=paper).card_image


def test_the_command_says_what_it_needs(db):
    with pytest.raises(CommandError, match="--paper ID"):
        call_command("render_thumbnails")
    with pytest.raises(CommandError, match="exactly one --paper"):
        call_command("render_thumbnails", "--file", str(SPECTER))
    with pytest.raises(CommandError, match="No such paper here: 9999.99999"):
        call_command("render_thumbnails", "--paper", "9999.99999")


# --- Served ---------------------------------------------------------------------------------


def test_django_serves_the_image_for_ever_cacheable(db, client):
    thumbnail = render_and_store(PaperFactory(), SPECTER)

    response = client.get(thumbnail.url)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/webp"
    assert "immutable" in response["Cache-Control"]
    assert b"".join(response.streaming_content).startswith(b"RIFF")
    assert client.get("/media/thumbnails/nothing.webp").status_code == 404
    assert client.get("/media/../config/settings.py").status_code in (400, 404)


def test_a_days_list_changing_queues_its_missing_thumbnails(
    db, arxiv_pdfs, settings, django_capture_on_commit_callbacks
):
    from papers import hooks

    settings.THUMBNAILS_AUTO = True
    today, other = PaperFactory(), PaperFactory(daily_date=dt.date(2024, 10, 25))
    serve_pdf(arxiv_pdfs, today.arxiv_id, SPECTER.read_bytes())

    # What ingest.tasks.ingest_hf_daily sends once it has written the day's list.
    with django_capture_on_commit_callbacks(execute=True):
        hooks.featured(today.daily_date)

    assert Thumbnail.objects.get(paper=today).is_ready
    assert not Thumbnail.objects.filter(paper=other).exists()


def test_nothing_is_queued_when_thumbnails_are_not_automatic(
    db, arxiv_pdfs, settings, django_capture_on_commit_callbacks
):
    from papers import hooks

    settings.THUMBNAILS_AUTO = False
    paper = PaperFactory()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        hooks.featured(paper.daily_date, [paper.pk])

    assert callbacks == [] and arxiv_pdfs.requests == []


# --- The demo's thumbnails ------------------------------------------------------------------


def test_the_demo_gets_real_thumbnails_of_the_papers_whose_pdfs_it_ships(db, client):
    from django.utils import timezone

    from ingest import demo
    from papers.models import Paper
    from thumbnails.demo import FIXTURES, demo_pdfs, load_demo_thumbnails

    assert load_demo_thumbnails() == (0, [])  # no demo, nothing added
    demo.load()
    added, made = load_demo_thumbnails()

    entries = demo_pdfs()
    assert added == 3 and [t.paper.arxiv_id for t in made] == [e["arxiv_id"] for e in entries]
    day = timezone.localdate() - dt.timedelta(days=1)
    for entry, thumbnail in zip(entries, made, strict=True):
        # Each paper's thumbnail is rendered from its own PDF.
        assert thumbnail.is_ready and thumbnail.width == 480
        assert thumbnail.pdf_bytes == (FIXTURES / entry["file"]).stat().st_size
        assert default_storage.exists(thumbnail.image.name)
        assert thumbnail.paper.daily_date == day and thumbnail.paper.submitted_by is not None
        assert thumbnail.paper.doi == entry["doi"] and thumbnail.paper.published_at is None
    # They lead their day's list, so the day's page opens with real thumbnails.
    leading = Paper.objects.visible().on_day(day).ranked()[:3]
    assert [p.arxiv_id for p in leading] == [e["arxiv_id"] for e in entries]
    page = client.get(f"/papers/date/{day:%Y-%m-%d}/").content.decode()
    for thumbnail in made:
        # The card shows its small rendition, not the page.
        assert thumbnail.card_image and default_storage.exists(thumbnail.card_image.name)
        assert f'src="{thumbnail.card.url}" width="136" height="102"' in page
        assert thumbnail.url not in page

    assert load_demo_thumbnails() == (0, [])  # re-running changes nothing
    assert Paper.objects.filter(source__has_key="demo-pdf").count() == 3

    # A demo loaded before cards had their own image gets it on the next run.
    old = made[0]
    Thumbnail.objects.filter(pk=old.pk).update(card_image="", card_width=None, card_height=None)
    assert load_demo_thumbnails() == (0, [])
    old.refresh_from_db()
    assert old.card_image and (old.card_width, old.card_height) == (136, 102)
    assert default_storage.exists(old.card_image.name)
