"""``hexpack release``: gates in order, one bump, one commit, one tag, then publish (``flow``)."""
