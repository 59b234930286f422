#!/usr/bin/env python3
"""Submit a container image to a Podium phase: ``podium-submit`` from a source checkout.

    python3 examples/submit.py my-model:v3 --phase 3 --wait     # push, then submit
    python3 examples/submit.py model.tar.gz --phase 3           # upload a tarball

Installed Podium has the same command as ``podium-submit`` (``pip install podium``
needs no extras for it). See ``podium_submit/cli.py`` for the options and exit
statuses; it uses only the Python standard library and the ``docker`` command.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from podium_submit.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
