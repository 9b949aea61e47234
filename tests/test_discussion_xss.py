"""Comments are the first place readers write HTML-bound text: Markdown, math, links,
mentions and names must all reach the page as inert text or allowlisted markup."""

import re

import pytest

from discussion.markdown import render
from discussion.models import Comment

from .discussion_helpers import comment_on, member, post_url
from .factories import PaperFactory

pytestmark = pytest.mark.django_db

ATTACKS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    '<a href="javascript:alert(1)">x</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](vbscript:msgbox(1))",
    "<javascript:alert(1)>",
    "[ref]\n\n[ref]: javascript:alert(1)",
    '[x](https://example.org "title\\" onmouseover=\\"alert(1)")',
    "![pixel](https://tracker.example/p.gif)",
    '<iframe src="https://evil.example"></iframe>',
    "<svg/onload=alert(1)>",
    "<style>body{display:none}</style>",
    "```html\n<script>alert(1)</script>\n```",
    "`<b onclick=alert(1)>`",
    "$\\href{javascript:alert(1)}{click}$",
    "$$<img src=x onerror=alert(1)>$$",
    "\\(<script>alert(1)</script>\\)",
]

FORBIDDEN = re.compile(
    r"<(?!/?(?:p|br|hr|a|em|strong|code|pre|blockquote|ul|ol|li|h[1-6])\b)[a-z]"
    r"|\son\w+\s*=|javascript:|vbscript:|data:text",
    re.IGNORECASE,
)


def _tags(html) -> str:
    """The tags of `html` with their attribute values emptied (a value is text: an
    escaped quote inside one opens nothing). Links' values are checked on their own."""
    return re.sub(r'="[^"]*"', '=""', "".join(re.findall(r"<[^>]*>", html)))


def _attributes_ok(html):
    for tag in re.findall(r"<a\b[^>]*>", html):
        href = re.search(r'href="([^"]*)"', tag)
        assert href is None or re.match(r"(https?:|mailto:|/)", href.group(1)), tag
        assert 'rel="nofollow ugc noopener"' in tag, tag


@pytest.mark.parametrize("body", ATTACKS)
def test_markdown_never_lets_markup_or_script_urls_through(body):
    html = render(body).html
    # Text mentioning them is fine once escaped: look only at real tags and attributes.
    assert not FORBIDDEN.search(_tags(html)), html
    _attributes_ok(html)
    assert "<img" not in html and "<script" not in html


def test_math_stays_text_between_its_delimiters_for_katex():
    html = render("Let $a_1 * b_1 * c$ and $$\\sum_i x_i$$ hold, \\(y_2\\).").html
    assert html == "<p>Let $a_1 * b_1 * c$ and $$\\sum_i x_i$$ hold, \\(y_2\\).</p>\n"
    assert render("$<b>$").html == "<p>$&lt;b&gt;$</p>\n"


def test_only_existing_usernames_become_mention_links():
    html = render("@vera and @nobody and @<script>", known_usernames={"vera"}).html
    assert html.count('class="mention"') == 1
    assert '<a class="mention" href="/u/vera/" rel="nofollow ugc noopener">@vera</a>' in html
    assert "@&lt;script&gt;" in html


def test_an_email_address_is_not_a_mention():
    assert render("write to vera@example.org", known_usernames={"example.org"}).mentions == []


def test_names_and_reasons_are_escaped_on_the_page(client):
    evil = member("evil", display_name='<script>alert("name")</script>')
    paper = PaperFactory()
    comment_on(paper, evil, "hi <b>there</b>")
    html = client.get(paper.get_absolute_url()).content.decode()
    assert '<script>alert("name")</script>' not in html
    assert "&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt;" in html
    assert "hi &lt;b&gt;there&lt;/b&gt;" in html


def test_a_posted_attack_is_stored_harmless(client, settings):
    settings.COMMENT_RATE_LIMIT = "100/m"
    author = member("author")
    paper = PaperFactory()
    client.force_login(author)
    for n, body in enumerate(ATTACKS):
        client.post(post_url(paper), {"body": f"{body}\n\n#{n}"})
    stored = list(Comment.objects.values_list("body_html", flat=True))
    assert len(stored) == len(ATTACKS)
    for html in stored:
        assert not FORBIDDEN.search(_tags(html)), html
        _attributes_ok(html)
