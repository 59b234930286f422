"""``python -m podium_submit``."""

from podium_submit.cli import main

raise SystemExit(main())
