-- Staging layer: one view per warehouse table. Staging views only rename and cast
-- (plus the two filters every analysis needs: duplicate flag, boilerplate exclusion).
-- Every column is documented in sql/README.md.

-- name: stg_articles
-- One row per article, renamed and typed; is_duplicate flags syndicated copies.
create or replace view stg_articles as
with source as (
    select * from articles
)
select
    article_id,
    source,
    url,
    canonical_url,
    input_ref,
    title,
    published_at,
    published_date,
    language,
    authors,
    site_name,
    word_count,
    tone,
    positive,
    negative,
    polarity,
    sentiment,
    duplicate_of,
    duplicate_of is not null as is_duplicate,
    cluster_id,
    fetched_at,
    pipeline_version,
    run_id
from source;

-- name: stg_paragraphs
-- One row per paragraph (boilerplate included, flagged by is_boilerplate).
create or replace view stg_paragraphs as
with source as (
    select * from paragraphs
)
select
    article_id,
    paragraph_index,
    text as paragraph_text,
    kind,
    kind_reason,
    kind = 'boilerplate' as is_boilerplate,
    length(text) as char_count,
    sentiment,
    published_date
from source;

-- name: stg_sentences
-- One row per sentence.
create or replace view stg_sentences as
with source as (
    select * from sentences
)
select
    article_id,
    paragraph_index,
    sentence_index,
    start_char,
    end_char,
    text as sentence_text,
    sentiment,
    published_date
from source;

-- name: stg_entity_mentions
-- One row per entity mention; mentions inside boilerplate paragraphs are left out (the contract says there are
-- none; this makes the marts hold to it even on older data).
create or replace view stg_entity_mentions as
with source as (
    select * from entity_mentions
),

boilerplate as (
    select article_id, paragraph_index
    from paragraphs
    where kind = 'boilerplate'
)

select
    source.article_id,
    source.paragraph_index,
    source.sentence_index,
    source.start_char,
    source.end_char,
    source.text as mention_text,
    source.label,
    source.entity_id,
    source.sentiment,
    source.sentiment_label,
    source.published_date
from source
anti join boilerplate using (article_id, paragraph_index);

-- name: stg_entities
-- One row per canonical entity.
create or replace view stg_entities as
with source as (
    select * from entities
)
select
    entity_id,
    name as entity_name,
    label,
    aliases,
    article_count,
    mention_count,
    country_code
from source;

-- name: stg_quotes
-- One row per quote; quotes inside boilerplate paragraphs are left out.
create or replace view stg_quotes as
with source as (
    select * from quotes
),

boilerplate as (
    select article_id, paragraph_index
    from paragraphs
    where kind = 'boilerplate'
)

select
    source.article_id,
    source.paragraph_index,
    source.quote_index,
    source.quote as quote_text,
    source.speaker,
    source.speaker_entity_id,
    source.attribution,
    source.scare_quote,
    source.start_char,
    source.end_char,
    source.published_date
from source
anti join boilerplate using (article_id, paragraph_index);

-- name: stg_runs
-- One row per pipeline run.
create or replace view stg_runs as
with source as (
    select * from runs
)
select
    run_id,
    started_at,
    finished_at,
    status,
    sources,
    articles,
    articles_new,
    articles_changed,
    articles_unchanged,
    paragraphs,
    sentences,
    entity_mentions,
    entities,
    quotes,
    rejects,
    seconds,
    pipeline_version,
    message
from source;
