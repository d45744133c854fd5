-- Mart layer: joins and aggregates over the staging views. Articles marked as a
-- duplicate of another article (duplicate_of is not null) are left out of every
-- count except article_overview, so a story syndicated ten times counts once.
-- Every column is documented in sql/README.md.
-- Means of floating-point columns average them as DECIMAL(18, 12): a sum of doubles depends
-- on the order DuckDB's threads add them in, so the same query on the same data returned a
-- different last digit in ~4% of entity_daily's rows from one run to the next; a decimal
-- sum is exact, so the mean is the same every time (try_cast: a NaN or an infinity, which
-- the pipeline never writes, is left out rather than failing the view).

-- name: entity_daily
-- Coverage of each entity per day: mentions, articles, sentiment toward it, article tone (duplicates counted once).
create or replace view entity_daily as
with canonical_articles as (
    select article_id, published_date, tone
    from stg_articles
    where not is_duplicate
),

mentions as (
    select
        m.entity_id,
        m.article_id,
        m.mention_text,
        m.label,
        m.sentiment,
        a.published_date as day,
        a.tone
    from stg_entity_mentions as m
    inner join canonical_articles as a using (article_id)
    where m.entity_id is not null
),

by_mention as (
    select
        entity_id,
        day,
        count(*) as mentions,
        count(distinct article_id) as articles,
        avg(try_cast(sentiment as decimal(18, 12))) as mean_sentiment,
        mode(mention_text) as top_surface,
        mode(label) as top_label
    from mentions
    group by entity_id, day
),

-- tone is a property of the article: average it once per article, not per mention
by_article as (
    select entity_id, day, avg(try_cast(tone as decimal(18, 12))) as mean_tone
    from (select distinct entity_id, day, article_id, tone from mentions)
    group by entity_id, day
)

select
    b.entity_id,
    coalesce(e.entity_name, b.top_surface) as name,
    coalesce(e.label, b.top_label) as label,
    b.day,
    b.mentions,
    b.articles,
    b.mean_sentiment,
    t.mean_tone
from by_mention as b
inner join by_article as t on b.entity_id = t.entity_id and b.day is not distinct from t.day
left join stg_entities as e on b.entity_id = e.entity_id;

-- name: entity_cooccurrence
-- Pairs of entities named in the same article, and how often in the same paragraph.
create or replace view entity_cooccurrence as
with mentions as (
    select distinct m.entity_id, m.article_id, m.paragraph_index, a.published_date
    from stg_entity_mentions as m
    inner join stg_articles as a using (article_id)
    where not a.is_duplicate and m.entity_id is not null
),

article_pairs as (
    select
        l.entity_id as entity_id_a,
        r.entity_id as entity_id_b,
        l.article_id,
        min(l.published_date) as published_date,
        bool_or(l.paragraph_index = r.paragraph_index) as in_same_paragraph
    from mentions as l
    inner join mentions as r
        on l.article_id = r.article_id and l.entity_id < r.entity_id
    group by all
),

paragraph_pairs as (
    select
        l.entity_id as entity_id_a,
        r.entity_id as entity_id_b,
        count(*) as paragraphs
    from mentions as l
    inner join mentions as r
        on l.article_id = r.article_id
        and l.paragraph_index = r.paragraph_index
        and l.entity_id < r.entity_id
    group by all
),

pairs as (
    select
        entity_id_a,
        entity_id_b,
        count(*) as articles,
        count(*) filter (where in_same_paragraph) as articles_same_paragraph,
        min(published_date) as first_day,
        max(published_date) as last_day
    from article_pairs
    group by all
)

select
    p.entity_id_a,
    ea.entity_name as name_a,
    p.entity_id_b,
    eb.entity_name as name_b,
    p.articles,
    p.articles_same_paragraph,
    coalesce(pp.paragraphs, 0) as paragraphs,
    p.first_day,
    p.last_day
from pairs as p
left join paragraph_pairs as pp using (entity_id_a, entity_id_b)
left join stg_entities as ea on p.entity_id_a = ea.entity_id
left join stg_entities as eb on p.entity_id_b = eb.entity_id;

-- name: source_daily
-- Coverage per source and day: articles, duplicates, words, mean tone and sentiment.
create or replace view source_daily as
with articles as (
    select * from stg_articles
)

select
    source,
    published_date as day,
    count(*) filter (where not is_duplicate) as articles,
    count(*) filter (where is_duplicate) as duplicates,
    coalesce(sum(word_count) filter (where not is_duplicate), 0)::bigint as words,
    avg(try_cast(tone as decimal(18, 12))) filter (where not is_duplicate) as mean_tone,
    avg(try_cast(sentiment as decimal(18, 12))) filter (where not is_duplicate) as mean_sentiment
from articles
group by source, published_date;

-- name: quotes_by_speaker
-- Quotes per speaker (resolved entity, else the name as written), duplicates counted once.
create or replace view quotes_by_speaker as
with quotes as (
    select
        q.*,
        a.source,
        a.published_date as day,
        -- one speaker: the resolved entity when there is one, else the name as written
        coalesce(q.speaker_entity_id, lower(trim(q.speaker))) as speaker_key
    from stg_quotes as q
    inner join stg_articles as a using (article_id)
    where not a.is_duplicate
        and (q.speaker is not null or q.speaker_entity_id is not null)
),

grouped as (
    select
        speaker_key,
        any_value(speaker_entity_id) as speaker_entity_id,
        mode(speaker) as speaker_as_written,
        count(*) as quotes,
        count(distinct article_id) as articles,
        count(distinct source) as sources,
        min(day) as first_day,
        max(day) as last_day,
        -- ties in length go to the text that sorts last, so the sample is the same however the rows are stored
        arg_max(quote_text, (length(quote_text), quote_text)) as longest_quote
    from quotes
    group by speaker_key
)

select
    g.speaker_entity_id,
    coalesce(e.entity_name, g.speaker_as_written) as speaker,
    g.quotes,
    g.articles,
    g.sources,
    g.first_day,
    g.last_day,
    g.longest_quote
from grouped as g
left join stg_entities as e on g.speaker_entity_id = e.entity_id;

-- name: article_overview
-- One row per article: paragraph counts by kind, sentences, mentions, quotes, top 3 entities.
create or replace view article_overview as
with paragraph_counts as (
    select
        article_id,
        count(*) as paragraphs,
        count(*) filter (where kind = 'body') as body_paragraphs,
        count(*) filter (where kind = 'heading') as heading_paragraphs,
        count(*) filter (where kind = 'boilerplate') as boilerplate_paragraphs
    from stg_paragraphs
    group by article_id
),

sentence_counts as (
    select article_id, count(*) as sentences
    from stg_sentences
    group by article_id
),

entity_counts as (
    select m.article_id, m.entity_id, coalesce(e.entity_name, mode(m.mention_text)) as name, count(*) as n
    from stg_entity_mentions as m
    left join stg_entities as e using (entity_id)
    where m.entity_id is not null
    group by m.article_id, m.entity_id, e.entity_name
),

mention_counts as (
    select
        article_id,
        count(*) as mentions,
        count(distinct entity_id) as distinct_entities
    from stg_entity_mentions
    group by article_id
),

top_entities as (
    select
        article_id,
        list(name order by n desc, name asc)[1:3] as top_entities
    from entity_counts
    group by article_id
),

quote_counts as (
    select
        article_id,
        count(*) as quotes,
        -- scare quotes (1-3 words, no speaker) left out; unflagged (older) quotes count
        count(*) filter (where not coalesce(scare_quote, false)) as speech_quotes
    from stg_quotes
    group by article_id
)

select
    a.article_id,
    a.source,
    a.title,
    a.url,
    a.input_ref,
    a.published_date,
    a.word_count,
    a.tone,
    a.sentiment,
    a.duplicate_of,
    a.is_duplicate,
    coalesce(p.paragraphs, 0) as paragraphs,
    coalesce(p.body_paragraphs, 0) as body_paragraphs,
    coalesce(p.heading_paragraphs, 0) as heading_paragraphs,
    coalesce(p.boilerplate_paragraphs, 0) as boilerplate_paragraphs,
    coalesce(s.sentences, 0) as sentences,
    coalesce(m.mentions, 0) as mentions,
    coalesce(m.distinct_entities, 0) as distinct_entities,
    coalesce(q.quotes, 0) as quotes,
    coalesce(q.speech_quotes, 0) as speech_quotes,
    coalesce(t.top_entities, []::varchar[]) as top_entities
from stg_articles as a
left join paragraph_counts as p using (article_id)
left join sentence_counts as s using (article_id)
left join mention_counts as m using (article_id)
left join quote_counts as q using (article_id)
left join top_entities as t using (article_id);
