-- Named read-only queries used by the web page's chart endpoints (newsetl/web.py).
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

-- name: days_with_mentions
select distinct day from entity_daily where day is not null order by day desc;

-- name: last_run
select run_id, started_at, finished_at, status, articles, articles_new, rejects, message
from runs
order by coalesce(finished_at, started_at) desc nulls last
limit 1;
