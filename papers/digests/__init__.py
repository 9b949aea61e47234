"""Email digests (issue 5): trending papers in the inbox, daily or weekly, exactly once.

    periods.py     which issue is due for whom, and the days it covers
    selection.py   what each subscriber's digest holds (trending, then personal)
    compose.py     subject, text and inlined HTML, rendered once per batch
    smtp.py        one message with the database commit inside the SMTP transaction
    sending.py     planning, claiming and the send loop (the design is described there)
    subscribing.py double opt-in, joining accounts, the settings form's effects
    tokens.py      signed links
    views.py/urls.py  /digest/... pages; /settings/digest/ is in accounts

Subscriptions and followed interests are models in accounts; the delivery log is
papers.DigestDelivery (models.py here). Tasks are in papers.tasks.
"""
