"""How the discussion plugs into papers (papers.hooks): a suspended user can't upvote
papers either, asked in the vote's own query of the paper (papers imports no feature
app)."""

from papers import hooks

from .models import refuse_suspended_voters

hooks.add_vote_refusal(refuse_suspended_voters)
