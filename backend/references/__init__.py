"""Reference entries: baselines, off-the-shelf models and human readers shown on a board."""
