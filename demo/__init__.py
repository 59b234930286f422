"""The demo: a TriALS-shaped synthetic challenge generated locally in seconds."""
