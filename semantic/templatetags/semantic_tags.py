from django import template

register = template.Library()

MODES = (
    ("hybrid", "Best of both", "Matching words and similar meaning, merged"),
    ("keyword", "Exact words", "Only papers containing your words"),
    ("semantic", "By meaning", "Papers about the same thing, whatever their words"),
)


@register.inclusion_tag("semantic/_search_modes.html", takes_context=True)
def search_modes(context):
    """The mode switch of a search page: links that keep the query and filters."""
    request = context["request"]
    current = context.get("mode") or "hybrid"
    links = []
    for value, label, hint in MODES:
        query = request.GET.copy()
        query.pop("page", None)
        if value == "hybrid":
            query.pop("mode", None)
        else:
            query["mode"] = value
        links.append(
            {
                "label": label,
                "hint": hint,
                "url": f"?{query.urlencode()}",
                "current": value == current,
            }
        )
    return {
        "links": links,
        "show": bool(context.get("query")) and not context.get("like_paper"),
        "search_notice": context.get("search_notice"),
        "like_paper": context.get("like_paper"),
        "not_embedded": context.get("not_embedded"),
    }
