"""Text clean-up shared by every source: whitespace, HTML, TeX accents in names, links.

Titles and abstracts are stored as plain text with their LaTeX untouched (KaTeX renders
it in the browser; templates escape everything). Sources hard-wrap lines (the snapshot,
OAI and the 2016 API format do; the 2026 API format does not), so whitespace is
normalised to one form and the same version of a paper reads the same from any source.
"""

import html
import re
import secrets
import unicodedata

import nh3

# --- Whitespace ------------------------------------------------------------------------

# arXiv marks a new paragraph by indenting the next line ("\n  In this paper ...").
_PARAGRAPH = re.compile(r"\n[ \t]+")


def squash(text: str | None) -> str:
    """One line, single spaces: for titles, names, comments."""
    return " ".join((text or "").split())


def paragraphs(text: str | None) -> str:
    """Hard wraps undone, paragraphs kept (one per line)."""
    text = (text or "").strip()
    parts = (squash(p) for p in _PARAGRAPH.split(text))
    return "\n".join(p for p in parts if p)


# --- HTML --------------------------------------------------------------------------------
# Only real HTML is touched: `<` is common in LaTeX ($p<q$, $V_{max}<17.5$), so text is
# sanitised only when it holds a complete tag of a known HTML element, and math segments
# are set aside first so the HTML parser never sees them.

_TAG_NAMES = (
    "a|abbr|audio|b|base|big|blockquote|body|br|button|center|code|details|div|em|embed|"
    "font|form|frame|frameset|h[1-6]|head|hr|html|i|iframe|img|input|label|li|link|meta|"
    "noscript|object|ol|p|pre|script|select|small|source|span|strike|strong|style|sub|"
    "summary|sup|svg|table|tbody|td|textarea|th|tr|tt|u|ul|video"
)
_HTML_TAG = re.compile(rf"<\s*/?\s*(?:{_TAG_NAMES})(?:\s[^<>]*)?/?\s*>|<!--", re.IGNORECASE)
# Tags that are never harmless, stripped even inside math.
_DANGEROUS_TAG = re.compile(
    r"<\s*/?\s*(?:script|style|iframe|object|embed|img|svg|link|meta|base|form|input|"
    r"button|textarea|frame|frameset|video|audio|source)\b[^<>]*>",
    re.IGNORECASE,
)
_MATH = re.compile(r"\$\$.+?\$\$|\$[^$]+\$|\\\(.+?\\\)|\\\[.+?\\\]", re.DOTALL)
# U+E000 and U+E001 mark search highlights (papers.highlight.render_marked turns them into
# <mark>): no source has a use for them, so they are dropped from every text. Math is
# set aside under a placeholder that holds a random nonce, so no text, however made up
# (entities such as "&#xe000;" included), can name a placeholder or swap in math.
_RESERVED = "\ue000\ue001"
_DROP_RESERVED = str.maketrans("", "", _RESERVED)


def drop_reserved(text: str) -> str:
    if _RESERVED[0] in text or _RESERVED[1] in text:
        return text.translate(_DROP_RESERVED)
    return text


def _strip_html(fragment: str) -> str:
    # nh3 returns HTML: tags gone, text escaped. Unescape to get plain text back, and
    # repeat while that reveals more markup (text that was "&lt;script&gt;").
    for _ in range(3):
        fragment = html.unescape(
            nh3.clean(fragment, tags=set(), clean_content_tags={"script", "style"})
        )
        if not _HTML_TAG.search(fragment):
            break
    return fragment


def sanitise(text: str) -> str:
    """Remove HTML markup from plain text, leaving LaTeX and everything else alone."""
    text = drop_reserved(text)
    if "<" not in text:
        return text
    maths: list[str] = []
    nonce = secrets.token_hex(8)

    def set_aside(match):
        maths.append(_DANGEROUS_TAG.sub("", match.group(0)))
        return f"math{nonce}x{len(maths) - 1}x"

    masked = _MATH.sub(set_aside, text)
    if _HTML_TAG.search(masked):
        # Unescaping entities may have brought the reserved characters back.
        masked = drop_reserved(_strip_html(masked))
    return re.sub(f"math{nonce}x(\\d+)x", lambda m: maths[int(m.group(1))], masked)


def clean_title(text: str | None) -> str:
    return squash(accents_outside_math(sanitise(text or "")))


def clean_abstract(text: str | None) -> str:
    return paragraphs(accents_outside_math(sanitise(text or "")))


# --- Names -------------------------------------------------------------------------------
# The snapshot's `authors` string and arXivRaw keep TeX accents ("Bal\'azs"); names are
# shown as Unicode, so the common accent commands are resolved here (the snapshot's own
# `authors_parsed` has done the same).

_ACCENTS = {
    "'": "\u0301",
    "`": "\u0300",
    "^": "\u0302",
    '"': "\u0308",
    "~": "\u0303",
    "=": "\u0304",
    ".": "\u0307",
    "u": "\u0306",
    "v": "\u030c",
    "H": "\u030b",
    "c": "\u0327",
    "k": "\u0328",
    "r": "\u030a",
}
_LETTERS = {
    "o": "ø",
    "O": "Ø",
    "l": "ł",
    "L": "Ł",
    "ss": "ß",
    "ae": "æ",
    "AE": "Æ",
    "oe": "œ",
    "OE": "Œ",
    "aa": "å",
    "AA": "Å",
    "i": "ı",
    "j": "ȷ",
}
# \'a  \'{a}  {\'a}  \v{s}  \c c  \"{\i}
_ACCENT_RE = re.compile(
    r"\{?\\([`'^\"~=.])\s*\{?\\?([A-Za-z])\}?\}?|\{?\\([uvHckr])[\s{]\{?\\?([A-Za-z])\}?\}?"
)
_LETTER_RE = re.compile(r"\{?\\(ss|ae|AE|oe|OE|aa|AA|o|O|l|L|i|j)(?![A-Za-z])\s?\}?")


def tex_to_unicode(name: str) -> str:
    if "\\" not in name:
        return name

    def accent(match):
        command = match.group(1) or match.group(3)
        letter = match.group(2) or match.group(4)
        return unicodedata.normalize("NFC", letter + _ACCENTS[command])

    name = _ACCENT_RE.sub(accent, name)
    name = _LETTER_RE.sub(lambda m: _LETTERS[m.group(1)], name)
    return name.replace("{", "").replace("}", "")


# In titles and abstracts only the accent forms are resolved, and only outside math
# (KaTeX reads $\'a$ itself), keeping every brace that isn't part of one: "{GPT}" and
# "\cite{x}" stay as written. \cal, \chi, \vartheta... are not accents: a letter
# accent (\c, \v, \u...) counts only before a space or a brace.
_SYMBOL = r"[`'^\"~=.]"
_LETTER_ACCENT = r"[uvHckr]"
_BASE = r"(?:\\[ij](?![A-Za-z])|[A-Za-z])"
_TEXT_ACCENT_RE = re.compile(
    rf"\{{\\(?P<a>{_SYMBOL}|{_LETTER_ACCENT}(?=[\s{{]))\s*(?:\{{(?P<b>{_BASE})\}}|(?P<c>{_BASE}))\}}"
    rf"|\\(?P<d>{_SYMBOL}|{_LETTER_ACCENT})\s*\{{(?P<e>{_BASE})\}}"
    rf"|\\(?P<f>{_SYMBOL}) ?(?P<g>{_BASE})"
    rf"|\\(?P<h>{_LETTER_ACCENT})\s+(?P<i>[A-Za-z])"
)
_NAMED = r"(ss|ae|AE|oe|OE|aa|AA|o|O|l|L)"
_TEXT_LETTER_RE = re.compile(rf"\{{\\{_NAMED}\}}|\\{_NAMED}(?:\{{\}}| (?=[a-z])|(?![A-Za-z]))")


def _accent(match) -> str:
    command = match["a"] or match["d"] or match["f"] or match["h"]
    base = match["b"] or match["c"] or match["e"] or match["g"] or match["i"]
    base = base[-1]  # \i and \j: the accent sits where the dot was
    return unicodedata.normalize("NFC", base + _ACCENTS[command])


def accents_outside_math(text: str) -> str:
    r"""R\'{e}nyi, G\"odel, \c{c}, \~n, {\o} -> Rényi, Gödel, ç, ñ, ø in running text."""
    if "\\" not in text:
        return text
    out, start = [], 0
    for math in [*_MATH.finditer(text), None]:
        end = math.start() if math else len(text)
        plain = _TEXT_ACCENT_RE.sub(_accent, text[start:end])
        out.append(_TEXT_LETTER_RE.sub(lambda m: _LETTERS[m[1] or m[2]], plain))
        if math:
            out.append(math.group(0))
            start = math.end()
    return "".join(out)


def clean_name(name: str | None) -> str:
    return squash(tex_to_unicode(sanitise(name or "")))


_AFFILIATION = re.compile(r"\([^()]*\)")
_AUTHOR_SPLIT = re.compile(r",|;|\band\b|&")


def split_authors(authors: str) -> list[str]:
    """arXiv's one-line author list ("A. Bee, C. Dee (MIT) and E. Eff") as names."""
    text = squash(_AFFILIATION.sub(" ", authors or ""))
    names = (clean_name(part) for part in _AUTHOR_SPLIT.split(text))
    return [n for n in names if n and n.lower() not in {"et al", "et al."}]


# --- Links -------------------------------------------------------------------------------
# Picked out of the abstract and comments: a code repository (GitHub, GitLab, Hugging
# Face) and a project page (a URL right after "project page", or a *.github.io site).

_URL = re.compile(r"https?://[^\s<>\"'{}\\]+|(?<![\w/.])(?:www\.)?github\.com/[^\s<>\"'{}\\]+")
_CODE_HOSTS = re.compile(r"^https?://(?:www\.)?(?:github\.com|gitlab\.com|huggingface\.co)/\S+")
_GITHUB_IO = re.compile(r"^https?://[\w-]+\.github\.io(?:/\S*)?$")
_PROJECT_LABEL = re.compile(r"project\s*(?:page|website|site)\s*(?:is\s*)?(?:at)?\s*:?\s*$", re.I)
_TRAILING = ".,;:!?)]}'\"”’>"
MAX_URL_LENGTH = 500


def _tidy_url(url: str) -> str:
    url = url.rstrip(_TRAILING)
    # A closing parenthesis belongs to the URL only if it opened one.
    while url.endswith(")") and url.count("(") < url.count(")"):
        url = url[:-1]
    if not url.startswith("http"):
        url = "https://" + url
    return url if len(url) <= MAX_URL_LENGTH else ""


def find_links(*texts: str | None) -> tuple[str, str]:
    """(code_url, project_url) found in the texts, "" when there is none."""
    code = project = ""
    for text in texts:
        # Most abstracts have no link at all: don't run the regex over them.
        if not text or ("://" not in text and "github.com" not in text):
            continue
        for match in _URL.finditer(text):
            url = _tidy_url(match.group(0))
            if not url:
                continue
            before = text[max(0, match.start() - 40) : match.start()]
            if not project and (_GITHUB_IO.match(url) or _PROJECT_LABEL.search(before)):
                project = url
            elif not code and _CODE_HOSTS.match(url):
                code = _strip_repo_path(url)
    return code, project


def _strip_repo_path(url: str) -> str:
    """github.com/org/repo/tree/main/x -> github.com/org/repo; other hosts as given
    (GitLab nests groups, so its paths can't be cut safely)."""
    match = re.match(r"^(https?://(?:www\.)?github\.com/[^/\s]+/[^/\s#?]+)", url)
    if match:
        return match.group(1).removesuffix(".git")
    return url
