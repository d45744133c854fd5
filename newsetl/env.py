"""Process-wide environment for Prefect and friends, set before prefect is imported."""

from __future__ import annotations

import os
from contextlib import contextmanager

from newsetl.settings import Settings


def configure(quiet: bool = True) -> None:
    """Raises settings.SettingsError when a NEWSETL_* variable has a bad value."""
    state = str(Settings.from_env().state_home.resolve())
    defaults = {
        # No phoning home: this machine has no internet and Prefect would log errors.
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_HOME": os.path.join(state, "prefect"),
        "PREFECT_UI_ENABLED": "false",
        # Flow/task state lines are noise in a batch job's output; warnings still show.
        "PREFECT_LOGGING_LEVEL": "WARNING" if quiet else "INFO",
        "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
        "TOKENIZERS_PARALLELISM": "false",
        # One BLAS thread per process: parallelism comes from the shard workers, and a
        # multi-threaded gemm beside them only oversubscribes the cores.
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        # The embedded (temporary) server needs ~9 s on an idle 2-core machine; give a
        # loaded machine room before calling it a failure.
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    }
    for k, v in defaults.items():
        os.environ.setdefault(k, v)
    os.makedirs(os.environ["PREFECT_HOME"], exist_ok=True)


@contextmanager
def interrupts_as_such():
    """A Ctrl-C that lands inside a DuckDB query comes out as RuntimeError("Query
    interrupted"): raise it as the KeyboardInterrupt it is, so Prefect reports an interrupt
    (not an error with a traceback) and the CLI says one line."""
    try:
        yield
    except RuntimeError as exc:
        if str(exc) != "Query interrupted":
            raise
        raise KeyboardInterrupt from exc
