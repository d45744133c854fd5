"""A Dask worker preload for tests/test_worker_faults.py: HTML extraction that kills its
own worker process on a page with the test's mark (as a crash in a parser's C code would)."""

import os
import signal

MARK = "<!-- newsetl test: this page kills its extraction worker -->"


def dask_setup(worker) -> None:
    from newsetl import process

    real = process.extract_page

    def extract_page(html, url):
        if MARK in html:
            os.kill(os.getpid(), signal.SIGSEGV)
        return real(html, url)

    process.extract_page = extract_page
