"""``python -m streamcv`` = the ``streamcv`` command."""

from __future__ import annotations

import sys

from streamcv.cli import main

sys.exit(main())
