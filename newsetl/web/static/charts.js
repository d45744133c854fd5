"use strict";
// Plain SVG charts (no library, no CDN). Every chart gets axis titles; captions are
// <figcaption> elements in the templates.
const SVGNS = "http://www.w3.org/2000/svg";

function svgEl(tag, attrs, text) {
  const n = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, v);
  if (text !== undefined) n.textContent = text;
  return n;
}

function noData(box, W, H, label, why) {
  const svg = svgEl("svg", {viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label});
  svg.appendChild(svgEl("text", {x: W / 2, y: H / 2, "text-anchor": "middle", class: "nodata"}, why || "no data"));
  box.appendChild(svg);
}

// Line chart: x categories (days), one or more series; xTitle / yTitle are axis titles.
function lineChart(box, xs, series, opts) {
  box.textContent = "";
  const W = 540, H = 240, L = 56, R = 40, T = 28, B = 44;  // R: room for the last day label
  const all = series.flatMap((s) => s.values.filter((v) => v !== null && v !== undefined));
  if (!xs.length || !all.length) return noData(box, W, H, opts.label);
  const svg = svgEl("svg", {viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": opts.label});
  let ymin = Math.min(opts.zero ? 0 : Infinity, ...all), ymax = Math.max(...all);
  if (ymin === ymax) { ymin -= 1; ymax += 1; }
  const fmtY = opts.fmtY || ((v) => v.toFixed(2));
  const px = (i) => L + (xs.length === 1 ? 0.5 : i / (xs.length - 1)) * (W - L - R);
  const py = (v) => H - B - (v - ymin) / (ymax - ymin) * (H - B - T);
  svg.appendChild(svgEl("line", {x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#99a"}));
  svg.appendChild(svgEl("line", {x1: L, y1: T, x2: L, y2: H - B, stroke: "#99a"}));
  for (const v of [ymin, (ymin + ymax) / 2, ymax]) {
    svg.appendChild(svgEl("line", {x1: L, y1: py(v), x2: W - R, y2: py(v), stroke: "#e3e6ea"}));
    svg.appendChild(svgEl("text", {x: L - 4, y: py(v) + 4, "text-anchor": "end", "font-size": 10}, fmtY(v)));
  }
  const step = Math.max(1, Math.ceil(xs.length / 6));
  xs.forEach((x, i) => {
    if (i % step) return;
    svg.appendChild(svgEl("text", {x: px(i), y: H - B + 15, "text-anchor": "middle", "font-size": 10}, x));
  });
  svg.appendChild(svgEl("text", {class: "axis-title x", x: L + (W - L - R) / 2, y: H - 6, "text-anchor": "middle", "font-size": 11}, opts.xTitle));
  svg.appendChild(svgEl("text", {class: "axis-title y", x: 12, y: T + (H - B - T) / 2, "text-anchor": "middle", "font-size": 11,
    transform: `rotate(-90 12 ${T + (H - B - T) / 2})`}, opts.yTitle));
  series.forEach((s, k) => {
    const pts = s.values.map((v, i) => (v === null || v === undefined ? null : [px(i), py(v)])).filter(Boolean);
    svg.appendChild(svgEl("polyline", {class: "series", points: pts.map((p) => p.join(",")).join(" "),
      fill: "none", stroke: s.color, "stroke-width": 2}));
    for (const [x, y] of pts) svg.appendChild(svgEl("circle", {cx: x, cy: y, r: 3, fill: s.color}));
    svg.appendChild(svgEl("rect", {x: L + k * 190, y: 8, width: 10, height: 10, fill: s.color}));
    svg.appendChild(svgEl("text", {x: L + 14 + k * 190, y: 17, "font-size": 11}, s.name));
  });
  box.appendChild(svg);
}

// Horizontal bars: items [{label, value, href?}]; yTitle names the categories, xTitle the values.
function barChart(box, items, opts) {
  box.textContent = "";
  const W = 460, rowH = 22, P = 160, T = 8, B = 40;
  const H = Math.max(90, items.length * rowH + T + B);
  if (!items.length) return noData(box, W, H, opts.label);
  const svg = svgEl("svg", {viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": opts.label});
  const max = Math.max(1, ...items.map((d) => d.value));
  const width = W - P - 60;
  items.forEach((d, i) => {
    const y = T + i * rowH, w = d.value / max * width;
    const text = d.label.length > 26 ? d.label.slice(0, 25) + "…" : d.label;
    const lab = svgEl("text", {x: P - 6, y: y + 14, "text-anchor": "end", "font-size": 11}, text);
    const bar = svgEl("rect", {class: "bar", x: P, y: y + 2, width: Math.max(1, w), height: rowH - 6, fill: opts.color || "#457b9d"});
    bar.appendChild(svgEl("title", {}, d.label + ": " + d.value));
    if (d.href) {
      const a = svgEl("a", {href: d.href});
      a.appendChild(lab);
      a.appendChild(bar);
      svg.appendChild(a);
    } else {
      svg.appendChild(lab);
      svg.appendChild(bar);
    }
    svg.appendChild(svgEl("text", {x: P + w + 4, y: y + 14, "font-size": 11}, String(d.value)));
  });
  const axisY = T + items.length * rowH;
  svg.appendChild(svgEl("line", {x1: P, y1: axisY, x2: P + width, y2: axisY, stroke: "#99a"}));
  svg.appendChild(svgEl("line", {x1: P, y1: T, x2: P, y2: axisY, stroke: "#99a"}));
  for (const v of [0, max / 2, max]) {
    svg.appendChild(svgEl("text", {x: P + v / max * width, y: axisY + 13, "text-anchor": "middle", "font-size": 10},
      Number.isInteger(v) ? String(v) : v.toFixed(1)));
  }
  svg.appendChild(svgEl("text", {class: "axis-title x", x: P + width / 2, y: H - 6, "text-anchor": "middle", "font-size": 11}, opts.xTitle));
  svg.appendChild(svgEl("text", {class: "axis-title y", x: 12, y: T + (axisY - T) / 2, "text-anchor": "middle", "font-size": 11,
    transform: `rotate(-90 12 ${T + (axisY - T) / 2})`}, opts.yTitle));
  box.appendChild(svg);
}

// Vertical histogram: bins [{x (left edge), value}] of width 1.
function histogram(box, bins, opts) {
  box.textContent = "";
  const W = 540, H = 240, L = 56, R = 20, T = 16, B = 44;
  if (!bins.length) return noData(box, W, H, opts.label);
  const svg = svgEl("svg", {viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": opts.label});
  const lo = Math.min(...bins.map((b) => b.x)), hi = Math.max(...bins.map((b) => b.x)) + 1;
  const max = Math.max(1, ...bins.map((b) => b.value));
  const px = (x) => L + (x - lo) / (hi - lo) * (W - L - R);
  const py = (v) => H - B - v / max * (H - B - T);
  for (const v of [0, max / 2, max]) {
    svg.appendChild(svgEl("line", {x1: L, y1: py(v), x2: W - R, y2: py(v), stroke: "#e3e6ea"}));
    svg.appendChild(svgEl("text", {x: L - 4, y: py(v) + 4, "text-anchor": "end", "font-size": 10},
      Number.isInteger(v) ? String(v) : v.toFixed(1)));
  }
  for (const b of bins) {
    const r = svgEl("rect", {class: "bar", x: px(b.x) + 1, y: py(b.value), width: Math.max(1, px(b.x + 1) - px(b.x) - 2),
      height: H - B - py(b.value), fill: b.x < 0 ? "#e07a5f" : "#81b29a"});
    r.appendChild(svgEl("title", {}, `tone ${b.x} to ${b.x + 1}: ${b.value} articles`));
    svg.appendChild(r);
  }
  svg.appendChild(svgEl("line", {x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#99a"}));
  svg.appendChild(svgEl("line", {x1: L, y1: T, x2: L, y2: H - B, stroke: "#99a"}));
  const step = Math.max(1, Math.ceil((hi - lo) / 10));
  for (let x = lo; x <= hi; x += step) {
    svg.appendChild(svgEl("text", {x: px(x), y: H - B + 14, "text-anchor": "middle", "font-size": 10}, String(x)));
  }
  svg.appendChild(svgEl("text", {class: "axis-title x", x: L + (W - L - R) / 2, y: H - 6, "text-anchor": "middle", "font-size": 11}, opts.xTitle));
  svg.appendChild(svgEl("text", {class: "axis-title y", x: 12, y: T + (H - B - T) / 2, "text-anchor": "middle", "font-size": 11,
    transform: `rotate(-90 12 ${T + (H - B - T) / 2})`}, opts.yTitle));
  box.appendChild(svg);
}
