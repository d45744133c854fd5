-- Named read-only queries used by the web page (newsetl/web/): charts, entity and article pages.
-- Loaded by name with newsetl.sqlfiles.query(name); parameters are positional `?`
-- and always bound, never formatted into the SQL text.

-- name: entity_timeseries
-- Mentions, article count, sentiment toward the entity and article tone per day.
select day, mentions, articles, mean_sentiment, mean_tone, name, label
from entity_daily
where entity_id = ? and day is not null
order by day;

-- name: top_entities_of_day
-- The most-mentioned entities on one day.
select entity_id, name, label, mentions, articles, mean_sentiment, mean_tone
from entity_daily
where day = ?
order by mentions desc, articles desc, name
limit ?;

-- name: top_entities_overall
-- Entity picker for the charts: most-mentioned entities over all days.
select entity_id, any_value(name) as name, any_value(label) as label,
       sum(mentions) as mentions, sum(articles) as articles
from entity_daily
group by entity_id
order by mentions desc, name
limit ?;

-- name: top_entities_dated
-- Picker for the per-day charts: the most-mentioned entities among dated articles only.
select entity_id, any_value(name) as name, any_value(label) as label,
       sum(mentions) as mentions, sum(articles) as articles
from entity_daily
where day is not null
group by entity_id
order by mentions desc, name
limit ?;

-- name: days_with_mentions
select distinct day from entity_daily where day is not null order by day desc;

-- name: last_run
select run_id, started_at, finished_at, status, articles, articles_new, rejects, message
from runs
order by coalesce(finished_at, started_at) desc nulls last
limit 1;

-- ---------------------------------------------------------------------------------
-- Entity and article pages (newsetl/web/). Every id is a bound `?` parameter.

-- name: entity_search
-- Entities whose name or any alias contains the text (case-insensitive; the text is a
-- bound value, so % and _ are plain characters). An exact name first, then the most
-- mentioned. Params: text x3, limit.
select entity_id, name, label, aliases, mention_count, article_count
from entities
where contains(lower(name), lower(?))
   or exists (select 1 from unnest(aliases) as t(alias) where contains(lower(t.alias), lower(?)))
order by (lower(name) = lower(?)) desc, mention_count desc nulls last, name
limit ?;

-- name: entity_by_id
-- One entity (every column: a catalog made before country_code existed has none until
-- its next run). Params: entity_id.
select *
from entities
where entity_id = ?;

-- name: entity_same_country
-- The other entities of one country: the country and the demonym of its people ("US",
-- "American"). Params: country_code, entity_id.
select entity_id, name, label, mention_count
from entities
where country_code = ? and entity_id <> ?
order by mention_count desc, name
limit 5;

-- name: entity_from_mentions
-- An id that only occurs in entity_mentions (no entities row), described from its
-- mentions; asked only when entity_by_id found nothing. Params: entity_id.
select entity_id, mode(text) as name, mode(label) as label, list(distinct text order by text) as aliases,
       count(distinct article_id) as article_count, count(*) as mention_count
from entity_mentions
where entity_id = ?
group by entity_id;

-- name: entity_stats
-- Counts shown on the entity page (duplicates and boilerplate left out, like the marts).
select count(*) as mentions,
       count(distinct m.article_id) as articles,
       count(distinct a.source) as sources,
       count(*) filter (where a.published_date is not null) as dated_mentions,
       min(a.published_date) as first_day,
       max(a.published_date) as last_day,
       avg(try_cast(m.sentiment as decimal(18, 12))) as mean_sentiment,  -- exact: see 02_marts.sql
       count(*) filter (where m.sentiment_label = 'positive') as positive,
       count(*) filter (where m.sentiment_label = 'neutral') as neutral,
       count(*) filter (where m.sentiment_label = 'negative') as negative
from stg_entity_mentions as m
inner join stg_articles as a using (article_id)
where m.entity_id = ? and not a.is_duplicate;

-- name: entity_mentions_in_context
-- One page of an entity's mentions with the paragraph text and the span of the sentence
-- holding the mention (found by offsets, not by sentence_index). Paragraphs and sentences are
-- read from the tables, not the stg_ views: the same rows, 3x faster on BBC (no anti-join
-- over every paragraph for 25 keys). Params: entity_id, limit, offset.
with m as (
    select m.article_id, m.paragraph_index, m.start_char, m.end_char, m.mention_text,
           m.sentiment, m.sentiment_label, a.title, a.source, a.published_date
    from stg_entity_mentions as m
    inner join stg_articles as a using (article_id)
    where m.entity_id = ? and not a.is_duplicate
    order by a.published_date desc nulls last, m.article_id, m.paragraph_index, m.start_char
    limit ? offset ?
)
select m.*, p.text as paragraph_text,
       s.start_char as sentence_start, s.end_char as sentence_end, s.sentiment as sentence_sentiment
from m
left join paragraphs as p using (article_id, paragraph_index)
left join sentences as s
    on s.article_id = m.article_id and s.paragraph_index = m.paragraph_index
    and s.start_char <= m.start_char and m.start_char < s.end_char
order by m.published_date desc nulls last, m.article_id, m.paragraph_index, m.start_char;

-- name: entity_quotes
-- Quotes whose speaker resolved to the entity. Params: entity_id, limit.
select q.article_id, q.paragraph_index, q.quote_index, q.quote_text, q.speaker, q.attribution,
       a.title, a.published_date
from stg_quotes as q
inner join stg_articles as a using (article_id)
where q.speaker_entity_id = ? and not a.is_duplicate
order by a.published_date desc nulls last, q.article_id, q.paragraph_index, q.quote_index
limit ?;

-- name: entity_cooccurring
-- Entities named in the same articles as this one (duplicates and boilerplate left out).
-- The entity's articles are found first, then only their mentions are grouped.
-- Params: entity_id x2, limit.
with mine as (
    select distinct article_id from stg_entity_mentions where entity_id = ?
    except
    select article_id from articles where duplicate_of is not null
),

m as (
    select entity_id, article_id, mention_text, label
    from stg_entity_mentions
    semi join mine using (article_id)
    where entity_id is not null and entity_id <> ?
)

select m.entity_id, coalesce(any_value(e.name), mode(m.mention_text)) as name,
       coalesce(any_value(e.label), mode(m.label)) as label,
       count(distinct m.article_id) as articles, count(*) as mentions
from m
left join entities as e using (entity_id)
group by m.entity_id
order by articles desc, mentions desc, name
limit ?;

-- name: article_by_id
-- One article without its full text (the page shows the paragraphs). `select *` so a
-- column added later (canonical_url) shows up without a query change.
select * exclude (text, raw_meta) from articles where article_id = ?;

-- name: article_paragraphs
select paragraph_index, text, kind, kind_reason, sentiment
from paragraphs
where article_id = ?
order by paragraph_index;

-- name: article_sentences
select paragraph_index, sentence_index, start_char, end_char, sentiment
from sentences
where article_id = ?
order by paragraph_index, start_char;

-- name: article_mentions
-- The article's mentions as stored (boilerplate included: the page shows the article whole).
select m.paragraph_index, m.start_char, m.end_char, m.text, m.label, m.entity_id,
       coalesce(e.name, m.text) as entity_name, m.sentiment, m.sentiment_label
from entity_mentions as m
left join entities as e using (entity_id)
where m.article_id = ?
order by m.paragraph_index, m.start_char, m.end_char desc;

-- name: article_quotes
select paragraph_index, quote_index, quote, speaker, speaker_entity_id, attribution
from quotes
where article_id = ?
order by paragraph_index, quote_index;

-- name: article_near_duplicates
-- Articles in the same duplicate cluster, the article this one duplicates and the
-- articles that duplicate it (and its fellow copies). Params: article_id x3.
with me as (
    select article_id, duplicate_of, cluster_id from articles where article_id = ?
)
select a.article_id, a.title, a.source, a.published_date, a.duplicate_of,
       a.article_id = me.duplicate_of as is_original,
       a.duplicate_of = me.article_id as is_copy
from articles as a, me
where a.article_id <> ?
  and ((me.cluster_id is not null and a.cluster_id = me.cluster_id)
       or a.article_id = me.duplicate_of
       or a.duplicate_of = ?
       or (me.duplicate_of is not null and a.duplicate_of = me.duplicate_of))
order by a.published_date nulls last, a.article_id
limit 50;

-- ---------------------------------------------------------------------------------
-- Catalog charts that do not need dates.

-- name: corpus_dates
-- Whether the corpus is dated: per-day charts only make sense when it is.
select count(*) as articles,
       count(published_date) as dated,
       count(distinct published_date) as days
from stg_articles
where not is_duplicate;

-- name: articles_per_source
select source, count(*) as articles, avg(try_cast(tone as decimal(18, 12))) as mean_tone
from stg_articles
where not is_duplicate
group by source
order by articles desc, source
limit ?;

-- name: tone_distribution
-- Articles per one-point tone bin (GDELT-style tone; tails past +-10 folded into the end bins).
select floor(greatest(-10, least(9.999, tone)))::integer as bin, count(*) as articles
from stg_articles
where not is_duplicate and tone is not null
group by bin
order by bin;
