"""Test-only (tests/test_kill_landing.py): Python imports this at start in a process whose
PYTHONPATH holds this folder. In the `newsetl` command's own process, HTML extraction then
kills that process on a page with crash_on_mark.MARK."""

import os
import sys

if os.path.basename(sys.argv[0] if sys.argv else "") == "newsetl":
    import crash_on_mark

    crash_on_mark.install()
