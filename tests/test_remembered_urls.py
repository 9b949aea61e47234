"""`{% url %}` remembers its answers (papers.templatetags.remembered_urls, issue 16) and
still answers what reverse() answers: for each argument, script prefix and URLconf."""

import re

import pytest
from django.conf import settings
from django.template import Context, Template
from django.test import override_settings
from django.urls import NoReverseMatch, clear_script_prefix, reverse, set_script_prefix

from papers.templatetags import remembered_urls


def render(source: str, **context) -> str:
    return Template(source).render(Context(context))


def test_every_template_url_tag_is_the_remembering_one():
    template = Template("{% url 'papers:home' %}")
    assert isinstance(template.nodelist[0], remembered_urls.RememberedURLNode)


def test_it_answers_what_reverse_answers_and_remembers_it():
    remembered_urls._reverse.cache_clear()
    cases = [
        ("{% url 'papers:home' %}", {}, reverse("papers:home")),
        ("{% url 'papers:day' day %}", {"day": "2026-12-04"}, "/papers/date/2026-12-04/"),
        (
            "{% url 'papers:author' slug=s %}",
            {"s": "ada-one"},
            reverse("papers:author", args=["ada-one"]),
        ),
        ("{% url 'papers:author' s %}", {"s": "a <b>"}, "/authors/a%20%3Cb%3E/"),
    ]
    for source, context, expected in cases:
        assert render(source, **context) == expected
        assert render(source, **context) == expected
    assert remembered_urls._reverse.cache_info().hits >= len(cases)
    assert render("{% url 'papers:home' as home %}[{{ home }}]") == "[/]"
    assert render("{% url 'papers:nothing' as nothing %}[{{ nothing }}]") == "[]"
    with pytest.raises(NoReverseMatch):
        render("{% url 'papers:nothing' %}")


def test_the_script_prefix_and_the_urlconf_are_part_of_the_answer():
    assert render("{% url 'papers:trending' %}") == "/trending/"
    set_script_prefix("/site/")
    try:
        assert render("{% url 'papers:trending' %}") == "/site/trending/"
    finally:
        clear_script_prefix()
    assert render("{% url 'papers:trending' %}") == "/trending/"
    with override_settings(ROOT_URLCONF="tests.urls_elsewhere"):
        assert render("{% url 'elsewhere' %}") == "/elsewhere/"


class Named:
    def __init__(self, name):
        self.name = name

    def __str__(self):
        return self.name


def test_an_object_argument_is_reversed_every_time():
    # Its str() may change under the same hash: never remembered.
    arg = Named("first")
    assert render("{% url 'papers:author' a %}", a=arg) == "/authors/first/"
    arg.name = "second"
    assert render("{% url 'papers:author' a %}", a=arg) == "/authors/second/"


def test_static_is_the_remembering_one_and_follows_the_settings():
    from django.templatetags.static import StaticNode

    template = Template("{% static 'css/site.css' %}")
    assert isinstance(template.nodelist[-1], remembered_urls.RememberedStaticNode)
    expected = StaticNode.handle_simple("css/site.css")
    assert template.render(Context()) == expected
    assert template.render(Context()) == expected
    assert render("{% static name as url %}[{{ url }}]", name="css/site.css") == f"[{expected}]"
    with override_settings(STATIC_URL="/elsewhere-static/"):
        assert render("{% static 'css/site.css' %}").startswith("/elsewhere-static/")
    assert render("{% static 'css/site.css' %}") == expected


def test_our_templates_use_the_builtin_static():
    # {% load static %} would put Django's tag back, unremembered.
    loads_static = re.compile(r"{%\s*load\s[^%]*\bstatic\b")
    roots = [settings.BASE_DIR / "templates", *settings.BASE_DIR.glob("*/templates")]
    found = [
        str(path.relative_to(settings.BASE_DIR))
        for root in roots
        for path in root.rglob("*.html")
        if loads_static.search(path.read_text())
    ]
    assert found == []
