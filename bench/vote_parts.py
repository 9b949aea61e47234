#!/usr/bin/env python
"""CPU time of the parts of the vote path changed in issue 16, old way against new,
interleaved in one process (so a busy machine slows both alike).

    python bench/vote_parts.py [--database NAME] [--rounds 3]

- the paper fetch: the full row, against only VOTE_FIELDS (papers/views/votes.py);
- the vote button (templates/papers/_vote_button.html, on every card and in every vote
  response): its URL by {% url %} (the resolver), against paper.vote_url
  (papers.links.url_for). The old template is inlined below.
Each figure is the best of 7 batches (time.process_time).
"""

import argparse
import re
import time

from render_cpu import setup

OLD_BUTTON_URL = "{% url 'papers:vote' paper.arxiv_id as vote_url %}"
NEW_BUTTON_URL = "{% with vote_url=paper.vote_url %}"


def best(fn, n, batches=7):
    fn()
    fastest = float("inf")
    for _ in range(batches):
        start = time.process_time()
        for _ in range(n):
            fn()
        fastest = min(fastest, (time.process_time() - start) / n)
    return fastest * 1000


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="dp_perf_bench")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    setup(args.database)
    from django.conf import settings
    from django.contrib.auth.models import AnonymousUser
    from django.shortcuts import get_object_or_404
    from django.template import engines
    from django.test import RequestFactory

    from papers.models import Paper
    from papers.views.votes import VOTE_FIELDS

    paper = Paper.objects.visible().featured().order_by("-daily_date", "-upvote_count").first()
    arxiv_id = paper.arxiv_id
    source = (settings.BASE_DIR / "templates/papers/_vote_button.html").read_text()
    assert NEW_BUTTON_URL in source and source.rstrip().endswith("{% endwith %}")
    old_source = source.replace(NEW_BUTTON_URL, OLD_BUTTON_URL).rstrip()
    old_source = old_source.removesuffix("{% endwith %}") + "\n"
    engine = engines["django"]
    old_button, new_button = engine.from_string(old_source), engine.from_string(source)
    request = RequestFactory().get("/")
    request.user, request.htmx = AnonymousUser(), False
    paper.user_has_voted = False

    def html(template):  # the same but for the (randomly masked) CSRF token
        rendered = template.render({"paper": paper}, request).rstrip()
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", rendered)

    assert html(old_button) == html(new_button)

    def full_row():
        get_object_or_404(Paper.objects.visible(), arxiv_id=arxiv_id)

    def vote_fields():
        get_object_or_404(Paper.objects.visible().only(*VOTE_FIELDS), arxiv_id=arxiv_id)

    def old():
        old_button.render({"paper": paper}, request)

    def new():
        new_button.render({"paper": paper}, request)

    for _ in range(args.rounds):
        print(
            f"paper fetch: full row {best(full_row, 300):.3f} ms,"
            f" VOTE_FIELDS {best(vote_fields, 300):.3f} ms | vote button:"
            f" {{% url %}} {best(old, 2000):.4f} ms, paper.vote_url {best(new, 2000):.4f} ms"
        )


if __name__ == "__main__":
    main()
