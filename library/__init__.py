"""The library (issue 15): a reader's saved papers (the reading list, with read state),
collections of papers with notes (private, unlisted by secret link, or public), exports
to BibTeX, RIS and CSV, imports of arXiv ids and BibTeX files, the library's Atom feeds
and GET /api/collections/<user>/<slug>. It plugs into paper cards through
papers.hooks.add_viewer_annotation and template includes; no other app imports it."""
