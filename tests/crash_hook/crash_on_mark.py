"""Test-only: HTML extraction that kills its own process (SIGSEGV, as a crash in a parser's
C code would) on a page holding MARK. `install()` puts it in place in the process that calls
it: the run's own process (sitecustomize.py beside this file), a pool worker (an initializer
in tests/test_worker_faults.py) or a Dask worker (this module as its preload: `dask_setup`).
`install_enrich()` does the same to enrichment (NER and the rest), on an article whose text
holds ENRICH_MARK (every article: `every=True`); a Dask worker gets both."""

import os
import signal

MARK = "<!-- newsetl test: this page kills the process that extracts it -->"
ENRICH_MARK = "Newsetl-test-marker: this article kills the process that enriches it."


def install() -> None:
    import newsetl.process as process

    real = process.extract_page

    def extract_page(html, url):
        if MARK in html:
            os.kill(os.getpid(), signal.SIGSEGV)
        return real(html, url)

    process.extract_page = extract_page


def install_enrich(every: bool = False) -> None:
    import newsetl.process as process

    real = process.enrich

    def enrich(articles, paragraphs, *args, **kwargs):
        if paragraphs.height and (every or paragraphs["text"].str.contains(ENRICH_MARK, literal=True).any()):
            os.kill(os.getpid(), signal.SIGSEGV)
        return real(articles, paragraphs, *args, **kwargs)

    process.enrich = enrich


def dask_setup(worker) -> None:
    install()
    install_enrich()
