"""Render page 1 of a PDF to WebP: run by thumbnails.render in a process of its own,
under memory, CPU and file-size limits, so a hostile or broken PDF that crashes PDFium
or eats memory ends this process, never the worker that started it.

    python -I _child.py PDF OUT WIDTH MAX_HEIGHT QUALITY

Prints one line of JSON: {"ok": true, "width", "height", "pages", "maxrss_kb"} or
{"ok": false, "reason"}. No Django here: it starts in ~0.1 s.
"""

import json
import resource
import sys

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c


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


def main(pdf_path, out_path, width, max_height, quality):
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
        return _answer(ok=True, width=image.width, height=image.height, pages=pages)
    finally:
        pdf.close()


if __name__ == "__main__":
    path, out, width, max_height, quality = sys.argv[1:6]
    main(path, out, int(width), int(max_height), int(quality))
