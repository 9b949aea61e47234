"""Benchmark: rendering first-page thumbnails (thumbnails.render), as a worker does.

    make bench-thumbnails                       # the three real PDFs, then 1,000 renders
    .venv/bin/python bench/thumbnails.py --renders 200

Part 1, per page: each real PDF in tests/fixtures/pdf/ rendered --repeat times; the
median wall time (the child process included: start, PDFium, WebP) and the child's
peak RSS (it reports its own ru_maxrss), plus the WebPs' sizes: the page's and the
card's rendition of its top (both come from one render).

Part 2, a worker rendering --renders thumbnails in a row (the three PDFs in turn):
this process's RSS every 100 renders, which must stay flat (each render's memory is
the child's, returned to the system when it exits), and the renders per second.

No database: render_pdf needs only settings. Nothing is stored.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
os.environ.setdefault("SITE_URL", "http://127.0.0.1:8000")
os.environ.setdefault("LOG_LEVEL", "WARNING")

PDFS = sorted((ROOT / "tests" / "fixtures" / "pdf").glob("*.pdf"))


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=10, help="renders per PDF in part 1")
    parser.add_argument("--renders", type=int, default=1000, help="renders in a row, part 2")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings

    from thumbnails.render import render_pdf

    print(f"cpus: {os.cpu_count()}, load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"width {settings.THUMBNAIL_WIDTH} px, card {settings.THUMBNAIL_CARD_WIDTH}x"
        f"{settings.THUMBNAIL_CARD_HEIGHT} px, WebP quality {settings.THUMBNAIL_QUALITY}, "
        f"limits: {settings.THUMBNAIL_MEMORY_LIMIT_MB} MB, {settings.THUMBNAIL_RENDER_TIMEOUT:g} s"
    )
    print(
        f"\n{'PDF':<26} {'bytes':>9} {'pages':>5} {'median ms':>9} {'min ms':>7} "
        f"{'peak RSS':>9} {'WebP':>8} {'card WebP':>16}"
    )
    for pdf in PDFS:
        times, peak = [], 0
        for _ in range(args.repeat):
            started = time.perf_counter()
            rendered = render_pdf(pdf)
            times.append((time.perf_counter() - started) * 1000)
            peak = max(peak, rendered.child_maxrss_kb)
        print(
            f"{pdf.name:<26} {pdf.stat().st_size:>9,} {rendered.pages:>5} "
            f"{statistics.median(times):>9.0f} {min(times):>7.0f} {peak / 1024:>7.1f}MB "
            f"{len(rendered.webp) / 1024:>6.1f}kB "
            f"{len(rendered.card_webp) / 1024:>5.1f}kB {rendered.card_width}x{rendered.card_height}"
        )

    print(f"\n{args.renders} renders in a row (this process's RSS, MiB):")
    start_rss = rss_mib()
    print(f"{0:>6} {start_rss:8.1f}")
    started = time.perf_counter()
    for n in range(1, args.renders + 1):
        render_pdf(PDFS[n % len(PDFS)])
        if n % 100 == 0:
            print(f"{n:>6} {rss_mib():8.1f}", flush=True)
    elapsed = time.perf_counter() - started
    print(
        f"{args.renders / elapsed:.1f} renders/s ({elapsed * 1000 / args.renders:.0f} ms each); "
        f"RSS {start_rss:.1f} -> {rss_mib():.1f} MiB"
    )


if __name__ == "__main__":
    main()
