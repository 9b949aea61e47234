"""First-page thumbnails of PDFs, rendered with PDFium (pypdfium2) in a child process.

Why pypdfium2 rather than poppler's pdftoppm: it is a wheel (PDFium built by its
maintainers, no Debian package to install on every web or worker machine), PDFium is
the renderer Chrome ships and fuzzes continuously, and it renders one page straight to
a bitmap in memory (no PNG written and read back, no process per format). Pillow turns
the bitmap into WebP.

Why a child process: a PDF is untrusted input. The checks below refuse what is
obviously wrong (not a PDF, cut short, too big) without parsing it; the rest is parsed
by PDFium in `_child.py` under limits (address space, CPU seconds, output size) and a
wall-clock timeout. A decompression bomb or a renderer crash ends the child; the worker
records the reason and carries on.
"""

import dataclasses
import functools
import json
import logging
import os
import resource
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from django.conf import settings

log = logging.getLogger(__name__)

CHILD = Path(__file__).resolve().with_name("_child.py")
# The PDF header may start anywhere in the first 1024 bytes (PDF 32000-1, 7.5.2), and the
# end-of-file marker sits in the last few hundred (tolerating trailing junk).
HEAD_BYTES = 1024
TAIL_BYTES = 2048


class Refused(Exception):
    """This PDF will not be rendered: the message says why (logged, kept on the row)."""


@dataclasses.dataclass
class Rendered:
    webp: bytes
    width: int
    height: int
    pages: int
    child_maxrss_kb: int
    # The card's rendition: the page's top, THUMBNAIL_CARD_WIDTH x THUMBNAIL_CARD_HEIGHT.
    card_webp: bytes = b""
    card_width: int = 0
    card_height: int = 0


def check_pdf(path: Path) -> int:
    """Refuse without parsing what is plainly not a whole PDF of a sane size. Returns
    the size in bytes."""
    size = path.stat().st_size
    if size > settings.THUMBNAIL_MAX_PDF_BYTES:
        raise Refused(f"too big: {size:,} bytes (at most {settings.THUMBNAIL_MAX_PDF_BYTES:,})")
    if size == 0:
        raise Refused("not a PDF: the file is empty")
    with path.open("rb") as f:
        head = f.read(HEAD_BYTES)
        f.seek(max(size - TAIL_BYTES, 0))
        tail = f.read()
    if b"%PDF-" not in head:
        raise Refused("not a PDF: no %PDF- header")
    if b"%%EOF" not in tail:
        raise Refused("truncated: no %%EOF marker at the end")
    return size


def _limits(memory: int, cpu: int):
    """Run in the child between fork and exec."""
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    # The two WebPs it writes: a few tens of kB and a few kB; nothing else is written.
    resource.setrlimit(resource.RLIMIT_FSIZE, (8 * 1024 * 1024, 8 * 1024 * 1024))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def render_pdf(path: Path) -> Rendered:
    """Page 1 of the PDF at `path` as WebP, THUMBNAIL_WIDTH pixels wide, and its top as
    the card's WebP (THUMBNAIL_CARD_WIDTH x THUMBNAIL_CARD_HEIGHT), from one render.
    Raises Refused with the reason for a PDF that is refused, crashes the renderer or
    takes too long: then there is neither image."""
    path = Path(path)
    check_pdf(path)
    with tempfile.TemporaryDirectory(prefix="thumb-") as tmp:
        out = Path(tmp) / "page1.webp"
        card_out = Path(tmp) / "card.webp"
        answer = _run_child(
            path,
            out,
            settings.THUMBNAIL_WIDTH,
            settings.THUMBNAIL_MAX_HEIGHT,
            settings.THUMBNAIL_QUALITY,
            card_out,
            settings.THUMBNAIL_CARD_WIDTH,
            settings.THUMBNAIL_CARD_HEIGHT,
        )
        return Rendered(
            webp=out.read_bytes(),
            width=int(answer["width"]),
            height=int(answer["height"]),
            pages=int(answer["pages"]),
            child_maxrss_kb=int(answer.get("maxrss_kb") or 0),
            card_webp=card_out.read_bytes(),
            card_width=int(answer["card_width"]),
            card_height=int(answer["card_height"]),
        )


def card_from_page(webp: bytes) -> Rendered:
    """The card's WebP made from a page already rendered (`webp`, as stored by a render
    from before cards had their own image): the same crop and scale as render_pdf's, in
    the same kind of child under the same limits (the bytes come back from a store).
    Only the card_* fields are set. Raises Refused if the child refuses or fails."""
    with tempfile.TemporaryDirectory(prefix="thumb-") as tmp:
        page = Path(tmp) / "page1.webp"
        page.write_bytes(webp)
        card_out = Path(tmp) / "card.webp"
        answer = _run_child(
            "--card",
            page,
            settings.THUMBNAIL_WIDTH,
            settings.THUMBNAIL_MAX_HEIGHT,
            settings.THUMBNAIL_QUALITY,
            card_out,
            settings.THUMBNAIL_CARD_WIDTH,
            settings.THUMBNAIL_CARD_HEIGHT,
        )
        return Rendered(
            webp=b"",
            width=0,
            height=0,
            pages=0,
            child_maxrss_kb=int(answer.get("maxrss_kb") or 0),
            card_webp=card_out.read_bytes(),
            card_width=int(answer["card_width"]),
            card_height=int(answer["card_height"]),
        )


def _run_child(*args) -> dict:
    """Run _child.py with `args` under the limits; its answer, or Refused."""
    timeout = settings.THUMBNAIL_RENDER_TIMEOUT
    limits = functools.partial(
        _limits, settings.THUMBNAIL_MEMORY_LIMIT_MB * 1024 * 1024, max(int(timeout), 1)
    )
    command = [
        sys.executable,
        "-I",  # isolated: no PYTHONPATH, no user site, no current directory
        str(CHILD),
        *map(str, args),
    ]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            timeout=timeout,
            preexec_fn=limits,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise Refused(f"rendering took longer than {timeout:g} s") from None
    answer = _parse(done.stdout)
    if done.returncode != 0 or answer is None:
        raise Refused(_crash_reason(done))
    if not answer.get("ok"):
        raise Refused(answer.get("reason") or "the renderer refused it")
    return answer


def _parse(stdout: bytes) -> dict | None:
    try:
        return json.loads(stdout.decode("utf-8", "replace").strip().splitlines()[-1])
    except (IndexError, ValueError):
        return None


def _crash_reason(done: subprocess.CompletedProcess) -> str:
    code = done.returncode
    stderr = done.stderr.decode("utf-8", "replace").strip().splitlines()
    last = stderr[-1][:200] if stderr else ""
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else code
        return f"the renderer was killed by {name} (a memory or CPU limit, or a crash)"
    if "MemoryError" in last:
        return f"the renderer ran out of memory (limit {settings.THUMBNAIL_MEMORY_LIMIT_MB} MB)"
    return f"the renderer failed (exit {code}){': ' + last if last else ''}"
