from django import template
from django.utils import timezone
from django.utils.safestring import mark_safe

from ..render import Renderer, ago, render_thread
from ..thread import discussion_context

register = template.Library()


def _renderer(context) -> Renderer:
    user = context.get("user") or context["request"].user
    return Renderer(
        context["paper"], context["thread_state"], user, str(context.get("csrf_token", ""))
    )


@register.simple_tag(takes_context=True)
def comment_thread(context, comments):
    """Every comment of a thread (discussion.thread.arrange), nested."""
    return render_thread(_renderer(context), comments)


@register.simple_tag(takes_context=True)
def comment_article(context, comment):
    return mark_safe(_renderer(context).article(comment))


@register.simple_tag(takes_context=True)
def comment_main(context, comment, vote_error=""):
    return mark_safe(_renderer(context).main(comment, vote_error or ""))


@register.inclusion_tag("discussion/_discussion.html", takes_context=True)
def discussion_section(context):
    """The discussion under a paper's abstract (templates/papers/detail.html): the paper
    page plugs it in without papers importing this app."""
    request = context["request"]
    return {
        "paper": context["paper"],
        "request": request,
        "user": context.get("user", request.user),
        "csrf_token": context.get("csrf_token"),
        **discussion_context(request, context["paper"]),
    }


@register.filter(name="ago")
def ago_filter(moment):
    """ "just now", "5 minutes ago", "3 days ago", then the date: as comments show it."""
    return ago(moment, timezone.now()) if moment else ""
