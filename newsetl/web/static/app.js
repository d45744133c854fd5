"use strict";
const $ = (id) => document.getElementById(id);

async function getJSON(url) {
  const r = await fetch(url, {credentials: "same-origin"});
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

const entityHref = (id) => "/entities/" + encodeURIComponent(id);

// ------------------------------------------------------------------ search box (every page)
function initSearch() {
  const input = $("entity-search"), list = $("search-results"), form = $("search-form");
  if (!input) return;
  let timer = null, seq = 0;
  async function search() {
    const q = input.value.trim();
    const mine = ++seq;
    if (!q) { list.hidden = true; list.textContent = ""; return; }
    try {
      const data = await getJSON("/api/entities?limit=12&q=" + encodeURIComponent(q));
      if (mine !== seq) return;  // a newer keystroke already asked
      list.textContent = "";
      if (!data.rows.length) {
        const li = document.createElement("li");
        li.className = "none";
        li.textContent = "no entity named like “" + q + "”";
        list.appendChild(li);
      }
      for (const r of data.rows) {
        const li = document.createElement("li");
        const a = document.createElement("a");
        a.href = entityHref(r.entity_id);
        a.textContent = r.name;
        const small = document.createElement("small");
        const also = (r.aliases || []).filter((x) => x !== r.name && x.toLowerCase().includes(q.toLowerCase()));
        small.textContent = " " + (r.label || "") + " · " + (r.mention_count ?? 0) + " mentions" + (also.length ? " · as " + also.slice(0, 2).join(", ") : "");
        li.appendChild(a);
        li.appendChild(small);
        list.appendChild(li);
      }
      list.hidden = false;
      list.dataset.query = q;
    } catch (e) {
      list.textContent = "";
      const li = document.createElement("li");
      li.className = "none";
      li.textContent = e.message;
      list.appendChild(li);
      list.hidden = false;
    }
  }
  input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(search, 150); });
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const first = list.querySelector("a");
    if (first && list.dataset.query === input.value.trim()) window.location = first.href;
    else search();
  });
  document.addEventListener("click", (ev) => { if (!form.contains(ev.target)) list.hidden = true; });
}

// ------------------------------------------------------------------ SQL box (catalog)
function sqlUrl(fmt) {
  return "/api/sql?format=" + fmt + "&q=" + encodeURIComponent($("sql").value);
}

function renderPreview(data) {
  const box = $("preview");
  box.textContent = "";
  const t = document.createElement("table");
  t.id = "preview-table";
  const head = t.createTHead().insertRow();
  for (const c of data.columns) {
    const th = document.createElement("th");
    th.textContent = c.name;
    th.title = c.type;
    head.appendChild(th);
  }
  const tb = t.createTBody();
  for (const row of data.rows) {
    const tr = tb.insertRow();
    for (const v of row) {
      tr.insertCell().textContent = v === null ? "NULL" : (typeof v === "object" ? JSON.stringify(v) : String(v));
    }
  }
  box.appendChild(t);
  $("sql-status").textContent = data.row_count + " rows" + (data.truncated ? " (preview truncated at " + data.limit + "; download for all rows)" : "");
}

async function runSql(ev) {
  if (ev) ev.preventDefault();
  $("sql-error").hidden = true;
  $("sql-status").textContent = "running…";
  try {
    renderPreview(await getJSON(sqlUrl("json")));
  } catch (e) {
    $("preview").textContent = "";
    $("sql-status").textContent = "";
    $("sql-error").textContent = e.message;
    $("sql-error").hidden = false;
  }
}

// ------------------------------------------------------------------ catalog charts
const countFmt = (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1));

async function drawEntity() {
  const id = $("entity-select").value;
  if (!id) return;
  try {
    const data = await getJSON("/api/entity_timeseries?entity_id=" + encodeURIComponent(id));
    const xs = data.rows.map((r) => r.day);
    lineChart($("chart-mentions"), xs, [{name: "mentions", color: "#1d3557", values: data.rows.map((r) => r.mentions)}],
      {label: "mentions per day", zero: true, fmtY: countFmt, xTitle: "publication day", yTitle: "mentions"});
    lineChart($("chart-tone"), xs, [
      {name: "sentiment toward entity", color: "#e63946", values: data.rows.map((r) => r.mean_sentiment)},
      {name: "mean article tone", color: "#2a9d8f", values: data.rows.map((r) => r.mean_tone)},
    ], {label: "sentiment and tone per day", xTitle: "publication day", yTitle: "sentiment / tone"});
  } catch (e) {
    $("chart-mentions").textContent = e.message;
  }
}

async function drawDay() {
  const day = $("day-select").value;
  if (!day) return;
  try {
    const data = await getJSON("/api/top_entities?limit=10&day=" + encodeURIComponent(day));
    barChart($("chart-top"), data.rows.map((r) => ({label: r.name + " (" + r.label + ")", value: r.mentions, href: entityHref(r.entity_id)})),
      {label: "top entities of " + day, xTitle: "mentions on " + day, yTitle: "entity"});
  } catch (e) {
    $("chart-top").textContent = e.message;
  }
}

function fill(select, items) {
  select.textContent = "";
  for (const [value, text] of items) {
    const o = document.createElement("option");
    o.value = value;
    o.textContent = text;
    select.appendChild(o);
  }
}

async function initCharts() {
  if (!$("chart-top-entities")) return;
  let ov;
  try {
    ov = await getJSON("/api/overview?limit=10");
  } catch (e) {
    $("charts-note").textContent = e.message;
    return;
  }
  barChart($("chart-top-entities"), ov.top_entities.map((r) => ({label: r.name + " (" + r.label + ")", value: r.mentions, href: entityHref(r.entity_id)})),
    {label: "most-mentioned entities", xTitle: "mentions (all articles)", yTitle: "entity", color: "#1d3557"});
  barChart($("chart-sources"), ov.sources.map((r) => ({label: r.source || "(none)", value: r.articles})),
    {label: "articles per source", xTitle: "articles", yTitle: "source", color: "#457b9d"});
  histogram($("chart-tone-dist"), ov.tone.map((r) => ({x: r.bin, value: r.articles})),
    {label: "tone distribution", xTitle: "article tone (GDELT-style, one-point bins)", yTitle: "articles"});
  if (ov.dated) {
    $("charts-note").textContent = ov.dated_articles + " of " + ov.articles + " articles are dated, over " + ov.days + " days.";
    $("dated-charts").hidden = false;
    try {
      const ents = await getJSON("/api/entities?dated=1&limit=50");  // entities with dated mentions
      fill($("entity-select"), ents.rows.map((r) => [r.entity_id, r.name + " (" + r.mentions + ")"]));
      const days = await getJSON("/api/days");
      fill($("day-select"), days.rows.map((r) => [r.day, r.day]));
    } catch (e) {
      $("chart-mentions").textContent = e.message;
      return;
    }
    $("entity-select").addEventListener("change", drawEntity);
    $("day-select").addEventListener("change", drawDay);
    await drawEntity();  // one after the other: the page never needs two readers at once
    await drawDay();
  } else {
    $("charts-note").textContent = (ov.dated_articles ? "Only " + ov.dated_articles + " of " + ov.articles + " articles carry a date (" + ov.days + " day)"
      : "None of the " + ov.articles + " articles carries a publication date") + ", so per-day charts would be empty; these charts need no dates.";
  }
  document.body.dataset.chartsReady = "1";
}

// ------------------------------------------------------------------ entity page timeline
async function initEntityTimeline() {
  const box = $("chart-entity-timeline");
  if (!box) return;
  try {
    const data = await getJSON("/api/entity_timeseries?entity_id=" + encodeURIComponent(document.body.dataset.entityId));
    lineChart(box, data.rows.map((r) => r.day), [{name: "mentions", color: "#1d3557", values: data.rows.map((r) => r.mentions)}],
      {label: "mentions per day", zero: true, fmtY: countFmt, xTitle: "publication day", yTitle: "mentions"});
  } catch (e) {
    box.textContent = e.message;
  }
  document.body.dataset.chartsReady = "1";
}

document.addEventListener("DOMContentLoaded", () => {
  initSearch();
  const form = $("sql-form");
  if (form) {
    form.addEventListener("submit", runSql);
    $("dl-parquet").addEventListener("click", (e) => { e.currentTarget.href = sqlUrl("parquet"); });
    $("dl-csv").addEventListener("click", (e) => { e.currentTarget.href = sqlUrl("csv"); });
  }
  initCharts();
  initEntityTimeline();
});
