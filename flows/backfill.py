"""`newsetl backfill`: reprocess articles from the warehouse's own stored text.

Which articles: a published-date range (`--since`, `--until`, inclusive) and/or every
article whose `pipeline_version` is older than this code's (`--outdated`), or every article
(`--all`: after a model setting changed, say `NEWSETL_TARGET_SENTIMENT_MODEL`, which the
pipeline version does not record; a date range leaves out articles without a date). The main flow
runs on the source `warehouse:?...` (newsetl/sources/rebuild.py) with force=True, so the
articles are enriched again by the current code and land under their unchanged ids.

No downtime for readers: the rebuild source opens news.duckdb read-only and the writer
lands into a staging copy renamed over news.duckdb at the end, as for any run.
"""

from __future__ import annotations

import sys
import time
from datetime import date

from newsetl.settings import Settings


def check_dates(since: str | None, until: str | None) -> None:
    """ValueError, naming the option, for a date range that would select nothing by mistake:
    a typo, or --since after --until."""
    days = {}
    for flag, d in (("--since", since), ("--until", until)):
        if d:
            try:
                days[flag] = date.fromisoformat(d)
            except ValueError:
                raise ValueError(f"{flag} {d!r} is not a date (YYYY-MM-DD)") from None
    if len(days) == 2 and days["--since"] > days["--until"]:
        raise ValueError(f"--since {since} is after --until {until}: no date is in that range")


def backfill(settings: Settings, since: str | None = None, until: str | None = None,
             outdated: bool = False, wait_seconds: float = 0.0):
    from newsetl.flows.pipeline import run_flow
    from newsetl.sources.rebuild import source_string

    check_dates(since, until)
    src = source_string(since, until, outdated)
    summary = run_flow(sources=[src], force=True, wait_seconds=wait_seconds, settings=settings)
    summary.command = "backfill"
    return summary


def backfill_command(args, settings: Settings, api_ready=None) -> int:
    """`api_ready`: from the CLI's `temporary_api` (see `flow_call`)."""
    from prefect.exceptions import FailedRun

    from newsetl.prefect_server import flow_call
    from newsetl.warehouse import WarehouseBusy, check_writer_free

    since, until, outdated = args.since, args.until, bool(args.outdated)
    every = bool(getattr(args, "all_articles", False))
    if every and (since or until or outdated):
        print("newsetl backfill: --all reprocesses every article; leave out --since/--until/--outdated",
              file=sys.stderr)
        return 2
    if not (since or until or outdated or every):
        print("newsetl backfill: say what to reprocess: --since/--until DATE and/or --outdated, or --all",
              file=sys.stderr)
        return 2
    try:
        check_dates(since, until)
    except ValueError as exc:
        print(f"newsetl backfill: {exc}", file=sys.stderr)
        return 2
    if not settings.db_path.exists():
        print(f"newsetl backfill: no warehouse database at {settings.db_path}", file=sys.stderr)
        return 2
    wait = float(getattr(args, "wait", 0) or 0)
    deadline = time.monotonic() + wait  # one --wait for both: the check and the run's lock
    try:
        check_writer_free(settings, wait)
        with flow_call(settings, api_ready):
            summary = backfill(settings, since, until, outdated, wait_seconds=max(0.0, deadline - time.monotonic()))
    except ValueError as exc:
        print(f"newsetl backfill: {exc}", file=sys.stderr)
        return 2
    except WarehouseBusy as exc:
        print(f"newsetl backfill: {exc}", file=sys.stderr)
        return 3
    except FailedRun as exc:  # the flow's Failed state: a model that does not load
        print(f"newsetl backfill: {exc}", file=sys.stderr)
        return 2
    print(summary.markdown(settings))
    if summary.articles_seen == 0:
        print("\nnothing to reprocess: no article matched", file=sys.stderr)
        return 0
    return 0 if summary.status == "completed" else 1
