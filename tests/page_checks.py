"""What every HTML page must pass: it parses as HTML5 without a single parse error
(html5lib, the WHATWG algorithm browsers use), has a page language, one <main>, unique
ids, and a label for every form control."""

import html5lib
from html5lib.constants import E as PARSE_ERRORS

LABELLED_INPUT_TYPES_EXEMPT = {"hidden", "submit", "button", "reset", "image"}


def _errors_text(parser, markup):
    lines = markup.splitlines()
    out = []
    for (line, col), code, data in parser.errors:
        message = PARSE_ERRORS.get(code, code) % (data or {})
        context = lines[line - 1].strip()[:160] if 0 < line <= len(lines) else ""
        out.append(f"line {line}:{col} {message}: {context}")
    return "\n".join(out)


def check_page(markup: str | bytes) -> None:
    if isinstance(markup, bytes):
        markup = markup.decode()
    parser = html5lib.HTMLParser(tree=html5lib.getTreeBuilder("etree"), namespaceHTMLElements=False)
    doc = parser.parse(markup)
    assert not parser.errors, "HTML parse errors:\n" + _errors_text(parser, markup)

    assert markup.lstrip().lower().startswith("<!doctype html>"), "no <!doctype html>"
    assert doc.tag == "html" and doc.get("lang"), "<html> has no lang"
    mains = doc.findall(".//main")
    assert len(mains) == 1, f"{len(mains)} <main> elements"
    assert doc.find(".//title") is not None and doc.find(".//title").text.strip(), "no <title>"

    ids = [el.get("id") for el in doc.iter() if el.get("id")]
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert not duplicates, f"duplicate ids: {duplicates}"

    labelled = {label.get("for") for label in doc.iter("label") if label.get("for")}
    wrapped = {id(el) for label in doc.iter("label") for el in label.iter()}
    for el in doc.iter():
        if el.tag not in ("input", "select", "textarea"):
            continue
        if el.tag == "input" and (el.get("type") or "text") in LABELLED_INPUT_TYPES_EXEMPT:
            continue
        assert (
            el.get("id") in labelled
            or id(el) in wrapped
            or el.get("aria-label")
            or el.get("aria-labelledby")
        ), f"unlabelled <{el.tag} name={el.get('name')!r} id={el.get('id')!r}>"
