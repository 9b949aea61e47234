"""`{% url %}` and `{% static %}` with their answers remembered. config.settings'
TEMPLATES loads this module as a builtin, so every template's `{% url %}` and
`{% static %}` is this one. A template that says `{% load static %}` gets Django's own
`static` back (the admin's and allauth's do): ours don't, and a test checks that.

A page's shell (the header, the footer, the day, week and month links) reverses a few
dozen URLs on every request, the same ones each time, and reverse() costs 10-20 µs of
resolver and converter lookups a URL. Its answer depends only on what the key holds:
the name, the arguments, the current app (namespaces), the URLconf, the script prefix
and the language; so it is remembered per process (a bounded LRU), and forgotten when
settings change (tests that swap the URLconf).

`{% static %}` is the same on every page (the style sheet, the scripts, the icons:
about 14 a page at 11-21 µs each): its answer, the storage's URL for a path, is
remembered per path until settings change, as the storage's manifest is read once.
"""

import datetime as dt
import functools

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template import defaulttags
from django.templatetags.static import StaticNode
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape
from django.utils.translation import get_language

register = template.Library()


@functools.lru_cache(maxsize=4096)
def _reverse(view_name, args, kwargs, current_app, urlconf, prefix, language):
    return reverse(view_name, args=args, kwargs=dict(kwargs), current_app=current_app)


@functools.lru_cache(maxsize=1024)
def _static(path):
    return StaticNode.handle_simple(path)


@receiver(setting_changed)
def _forget(**kwargs):
    _reverse.cache_clear()
    _static.cache_clear()


# Values whose str() is all reverse() reads of them.
_PLAIN = (str, int, dt.date, type(None))


def _plain(*values) -> bool:
    return all(isinstance(value, _PLAIN) and type(value) is not bool for value in values)


class RememberedURLNode(defaulttags.URLNode):
    """Django's URLNode.render, with reverse() through _reverse."""

    def render(self, context):
        args = tuple(arg.resolve(context) for arg in self.args)
        kwargs = tuple((k, v.resolve(context)) for k, v in self.kwargs.items())
        view_name = self.view_name.resolve(context)
        try:
            current_app = context.request.current_app
        except AttributeError:
            try:
                current_app = context.request.resolver_match.namespace
            except AttributeError:
                current_app = None
        url = ""
        try:
            if _plain(view_name, current_app, *args, *(v for _, v in kwargs)):
                url = _reverse(
                    view_name,
                    args,
                    kwargs,
                    current_app,
                    get_urlconf(),
                    get_script_prefix(),
                    get_language(),
                )
            else:  # an object, whose str() the URL holds, may change under one key
                url = reverse(view_name, args=args, kwargs=dict(kwargs), current_app=current_app)
        except NoReverseMatch:
            if self.asvar is None:
                raise
        if self.asvar:
            context[self.asvar] = url
            return ""
        return conditional_escape(url) if context.autoescape else url


@register.tag
def url(parser, token):
    node = defaulttags.url(parser, token)
    return RememberedURLNode(node.view_name, node.args, node.kwargs, node.asvar)


class RememberedStaticNode(StaticNode):
    @classmethod
    def handle_simple(cls, path):
        return _static(path) if isinstance(path, str) else StaticNode.handle_simple(path)


@register.tag
def static(parser, token):
    return RememberedStaticNode.handle_token(parser, token)
