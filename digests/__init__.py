"""Email digests (issue 5): trending papers in the inbox, daily or weekly, exactly once.

models.py          subscriptions, followed authors/categories/keywords, the
                   delivery log and the papers each subscription was sent
periods.py         which issue is due for whom, and the days it covers
selection.py       what each subscriber's digest holds (trending, then personal)
compose.py         subject, text and inlined HTML, rendered once per batch
smtp.py            one message with the database commit inside the SMTP transaction
sending.py         planning, claiming and the send loop (the design is described there)
subscribing.py     double opt-in, joining accounts, the settings form's effects
confirmation.py    the double opt-in mail
tokens.py          signed links
tasks.py           the planner, batches, pruning, confirmation mails
views.py           /digest/... pages (visitors, links in mails)
settings_views.py  /settings/digest/ (accounts:digest_settings)
signals.py         allauth's email signals join and follow subscriptions
"""
