// Progressive enhancement only: every control works without JavaScript.
