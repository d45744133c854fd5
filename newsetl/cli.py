"""`newsetl` command line (see ../shared/CONTRACT.md for the contract)."""

from __future__ import annotations

import argparse
import logging
import sys
import time

from newsetl import env


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (1-65535)")
    return port


def _settings(args):
    """The run's settings: NEWSETL_* environment with the command-line options on top
    (built once in `main`, where a bad value is reported)."""
    from newsetl.settings import Settings

    if getattr(args, "settings", None) is not None:
        return args.settings
    overrides = {"warehouse": getattr(args, "warehouse", None)}
    if getattr(args, "workers", None):
        overrides["workers"] = args.workers
    if getattr(args, "model", None):
        overrides["spacy_model"] = args.model
    if getattr(args, "dask_address", None):
        overrides["dask_address"] = args.dask_address
    if getattr(args, "dask_workers", None):
        overrides["dask_workers"] = args.dask_workers
    return Settings.from_env(**overrides)


def cmd_run(args) -> int:
    settings = _settings(args)
    from newsetl.prefect_server import flow_call, temporary_api

    # Prefect's temporary API server boots while the pipeline's modules are imported.
    # So do the shard workers, on the core the command leaves idle while it waits for the API.
    with temporary_api() as api_ready:
        from prefect.exceptions import FailedRun

        from newsetl.flows.pipeline import run_flow
        from newsetl.warehouse import WarehouseBusy, check_writer_free

        try:
            deadline = time.monotonic() + args.wait  # one --wait for both: the check and the flow's lock
            check_writer_free(settings, args.wait)  # one line now, not a flow's traceback
            with flow_call(settings, api_ready):
                summary = run_flow(sources=args.sources, force=args.force,
                                   wait_seconds=max(0.0, deadline - time.monotonic()), settings=settings)
        except WarehouseBusy as exc:
            print(f"newsetl run: {exc}", file=sys.stderr)
            return 3
        except FailedRun as exc:  # the flow's Failed state: a model that does not load
            print(f"newsetl run: {exc}", file=sys.stderr)
            return 2
    print(summary.markdown(settings))
    return 0 if summary.status == "completed" else 1


def cmd_sql(args) -> int:
    from newsetl.query import sql_command

    return sql_command(args.query, args.format, args.out, _settings(args))


def cmd_export(args) -> int:
    from newsetl.export import export_command

    return export_command(args.out, _settings(args))


def cmd_repair(args) -> int:
    from newsetl.warehouse import WarehouseBusy, WarehouseDamaged, repair

    try:
        for line in repair(_settings(args), wait_seconds=args.wait):
            print(line)
    except WarehouseBusy as exc:
        print(f"newsetl repair: {exc}", file=sys.stderr)
        return 3
    except WarehouseDamaged as exc:
        print(f"newsetl repair: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_serve(args) -> int:
    from newsetl.web import serve_command

    return serve_command(args.host, args.port, _settings(args), token=args.token)


def cmd_schedule(args) -> int:
    from newsetl.flows.schedule import schedule_command

    return schedule_command(args, _settings(args))


def cmd_backfill(args) -> int:
    settings = _settings(args)
    from newsetl.prefect_server import temporary_api

    # As for `run`: the API boots while the pipeline is imported (it took ~7 s more of a
    # backfill than of the same `run --force`, one after the other).
    with temporary_api() as api_ready:
        from newsetl.flows.backfill import backfill_command

        return backfill_command(args, settings, api_ready)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="newsetl", description="News articles in, tables analysts can trust out.")
    sub = p.add_subparsers(dest="command", required=True)

    def dask_options(sp):
        sp.add_argument("--dask-address", help="run enrichment shards on this Dask scheduler (tcp://host:8786)")
        sp.add_argument("--dask-workers", type=int, help="start a local Dask cluster of N worker processes")

    def common(sp):
        sp.add_argument("--warehouse", help="warehouse folder (default data/warehouse or $NEWSETL_WAREHOUSE)")
        return sp

    r = common(sub.add_parser("run", help="pull every SOURCE, transform, land one batch"))
    r.add_argument("sources", nargs="+", metavar="SOURCE",
                   help="file, folder, glob, http(s) page or feed URL, WARC file, JSONL")
    r.add_argument("--force", action="store_true", help="reprocess articles even if unchanged")
    r.add_argument("--workers", type=int, help="worker processes for enrichment")
    r.add_argument("--model", help="spaCy pipeline for NER (package name or path)")
    r.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="wait this long for another run on the same warehouse to finish")
    dask_options(r)
    r.set_defaults(fn=cmd_run)

    s = common(sub.add_parser("sql", help="read-only ad-hoc query on the warehouse"))
    s.add_argument("query")
    s.add_argument("--format", choices=["table", "csv", "json", "parquet"],
                   help="output format (default: the one --out's extension names, else table)")
    s.add_argument("--out", help="write the result to this file (.csv, .json, .parquet: that format)")
    s.set_defaults(fn=cmd_sql)

    e = common(sub.add_parser("export", help="(re)write the Parquet download tree"))
    e.add_argument("--out", help="folder (default <warehouse>/parquet)")
    e.set_defaults(fn=cmd_export)

    rp = common(sub.add_parser("repair", help="finish or undo an interrupted run; rebuild a lost catalog"))
    rp.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                    help="wait this long for a run on the same warehouse to finish")
    rp.set_defaults(fn=cmd_repair)

    v = common(sub.add_parser("serve", help="the analysts' web page"))
    v.add_argument("--host", default="127.0.0.1")
    v.add_argument("--port", type=int, default=8000)
    v.add_argument("--token", help="require this token on every request (a non-loopback --host "
                   "always needs one: generated and printed when not given)")
    v.set_defaults(fn=cmd_serve)

    c = common(sub.add_parser("schedule", help="start the local Prefect server if needed and serve the scheduled deployments"))
    c.add_argument("--config", help="deployments config file (default deployments.toml)")
    c.add_argument("--once", action="store_true", help="run every deployment once now and exit")
    c.add_argument("--port", type=_port, help="port of the local Prefect server on 127.0.0.1 "
                   "(default: a free one; the URL is printed and kept in .state/prefect/newsetl-schedule.json)")
    c.set_defaults(fn=cmd_schedule)

    b = common(sub.add_parser("backfill", help="reprocess a date range, articles of an older pipeline version, or all"))
    b.add_argument("--since", help="first published date (YYYY-MM-DD)")
    b.add_argument("--until", help="last published date (YYYY-MM-DD)")
    b.add_argument("--outdated", action="store_true", help="every article whose pipeline_version is older than this one")
    b.add_argument("--all", action="store_true", dest="all_articles",
                   help="every article, dated or not (e.g. after changing a model setting)")
    b.add_argument("--workers", type=int)
    b.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="wait this long for another run on the same warehouse to finish")
    dask_options(b)
    b.set_defaults(fn=cmd_backfill)
    return p


# The commands whose workers load the models.
_ENRICHING = ("run", "backfill", "schedule")


def main(argv: list[str] | None = None) -> int:
    from newsetl.settings import SettingsError

    args = build_parser().parse_args(argv)
    # A log handler that fails (Prefect's API log worker, when a Ctrl-C lands while it starts
    # its thread) must not print "--- Logging error ---" and a traceback at the user; the
    # logging module's own switch for programs in production.
    logging.raiseExceptions = False
    try:
        env.configure(quiet=True)
        args.settings = _settings(args)
        if args.command in _ENRICHING:
            args.settings.check_models()  # one line now, not a batch of crashed workers
    except SettingsError as exc:  # e.g. NEWSETL_WORKERS=abc: say which variable, no traceback
        print(f"newsetl: {exc}", file=sys.stderr)
        return 2
    try:
        with env.interrupts_as_such():  # what DuckDB makes of a Ctrl-C during a query
            return int(args.fn(args) or 0)
    except KeyboardInterrupt:  # Ctrl-C: one line, not the traceback of wherever it landed
        writes = args.command in ("run", "backfill", "repair", "schedule")
        print(f"newsetl {args.command}: interrupted" + (
            "; a run lands all of itself or nothing, and the next writer (or `newsetl repair`) finishes "
            "or removes what it left" if writes else ""), file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
