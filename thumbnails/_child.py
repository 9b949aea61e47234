"""Render page 1 of a PDF to WebP: run by thumbnails.render in a process of its own,
under memory, CPU and file-size limits, so a hostile or broken PDF that crashes PDFium
or eats memory ends this process, never the worker that started it.

    python -I _child.py PDF OUT WIDTH MAX_HEIGHT QUALITY CARD_OUT CARD_WIDTH CARD_HEIGHT
    python -I _child.py --card PAGE WIDTH MAX_HEIGHT QUALITY CARD_OUT CARD_WIDTH CARD_HEIGHT

Writes the page WIDTH px wide to OUT, and the card's rendition to CARD_OUT: the page's
top, cropped to CARD_WIDTH:CARD_HEIGHT and scaled down to that size from the same
bitmap (`card_of`). With --card, only the card's rendition, from PAGE, a page this
wrote before (a thumbnail stored before cards had their own image). Prints one line of
JSON: {"ok": true, "width", "height", "card_width", "card_height", "pages",
"maxrss_kb"} or {"ok": false, "reason"}. No Django here: it starts in ~0.1 s.
"""

import json
import resource
import sys

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image


def card_of(image, width: int, height: int):
    """The top of `image` (a PIL image of a page) cropped to width:height and scaled to
    width x height px: what the card's slot showed of the whole page with `object-fit:
    cover; object-position: top center` (static/css/site.css, .card-thumb img)."""
    if image.width * height <= image.height * width:  # a portrait page: keep the top
        box = (0, 0, image.width, round(image.width * height / width))
    else:  # a landscape page: keep the middle
        crop = round(image.height * width / height)
        left = (image.width - crop) // 2
        box = (left, 0, left + crop, image.height)
    return image.resize((width, height), Image.Resampling.LANCZOS, box=box)


def _peak_rss_kb() -> int:
    """This process's peak RSS since exec (VmHWM). ru_maxrss would also count the
    parent's pages at fork time, which Linux carries across exec."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _answer(**data):
    data["maxrss_kb"] = _peak_rss_kb()
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


def _save_card(image, card_path, card_width, card_height, quality):
    card = card_of(image, card_width, card_height)
    # method=6: the slowest, smallest encoding; at this size it costs ~1 ms.
    card.save(card_path, "WEBP", quality=quality, method=6)
    return card


def card_from_page(page_path, width, max_height, quality, card_path, card_width, card_height):
    with Image.open(page_path) as page:
        # Only what a render writes: a WebP no bigger than WIDTH x MAX_HEIGHT.
        if page.format != "WEBP" or page.width > width or page.height > max_height:
            return _answer(
                ok=False,
                reason=f"not a page this renders ({page.format} {page.width}x{page.height})",
            )
        card = _save_card(page.convert("RGB"), card_path, card_width, card_height, quality)
    return _answer(ok=True, card_width=card.width, card_height=card.height)


def main(pdf_path, out_path, width, max_height, quality, card_path, card_width, card_height):
    try:
        pdf = pdfium.PdfDocument(pdf_path)
    except pdfium.PdfiumError as exc:
        message = str(exc)
        if "password" in message.lower():
            return _answer(ok=False, reason="encrypted: it needs a password")
        return _answer(ok=False, reason=f"PDFium could not open it ({message})")
    try:
        # -1 when the file has no security handler. A PDF encrypted with an empty user
        # password opens, but publishers encrypt to forbid reuse: not rendered.
        if pdfium_c.FPDF_GetSecurityHandlerRevision(pdf.raw) != -1:
            return _answer(ok=False, reason="encrypted")
        pages = len(pdf)
        if pages < 1:
            return _answer(ok=False, reason="it has no pages")
        page = pdf[0]
        page_width, page_height = page.get_size()
        if not (1 <= page_width <= 14400 and 1 <= page_height <= 14400):
            return _answer(ok=False, reason=f"odd page size {page_width:.0f}x{page_height:.0f} pt")
        scale = width / page_width
        height = round(page_height * scale)
        if height > max_height:
            return _answer(
                ok=False,
                reason=f"page 1 is too tall for a thumbnail ({width}x{height} px, "
                f"at most {max_height} px high)",
            )
        bitmap = page.render(scale=scale, may_draw_forms=False)
        image = bitmap.to_pil()
        if image.mode != "RGB":
            image = image.convert("RGB")
        image.save(out_path, "WEBP", quality=quality, method=4)
        card = _save_card(image, card_path, card_width, card_height, quality)
        return _answer(
            ok=True,
            width=image.width,
            height=image.height,
            card_width=card.width,
            card_height=card.height,
            pages=pages,
        )
    finally:
        pdf.close()


if __name__ == "__main__":
    if sys.argv[1] == "--card":
        page, width, max_height, quality, card_out, card_width, card_height = sys.argv[2:9]
        card_from_page(
            page,
            int(width),
            int(max_height),
            int(quality),
            card_out,
            int(card_width),
            int(card_height),
        )
    else:
        path, out, width, max_height, quality, card_out, card_width, card_height = sys.argv[1:9]
        main(
            path,
            out,
            int(width),
            int(max_height),
            int(quality),
            card_out,
            int(card_width),
            int(card_height),
        )
