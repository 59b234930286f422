"""Interactive (click-based) phases: their ``interaction:`` block, click files and results."""
