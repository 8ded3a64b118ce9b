/* Narrative page charts: the timeline (a lane per actor or country, first mover starred) and the
   amplification graph. Data comes from the page's chart.json (named by #chart-data's data-src), kept out
   of the HTML so the page stays small for narratives of thousands of statements; plotly.js is served by
   the app itself, so nothing loads from another host and no inline script runs. */
(function () {
  "use strict";
  var holder = document.getElementById("chart-data");
  if (!holder || !window.Plotly) { return; }
  fetch(holder.getAttribute("data-src"), { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    })
    .then(draw)
    .catch(function (err) {
      var div = document.getElementById("timeline-chart");
      if (div) { div.textContent = "The charts could not be loaded (" + err.message + "); the tables below hold the same data."; }
    });

  function draw(data) {
    var PALETTE = ["#1f5fbf", "#c0392b", "#2e8b57", "#8e44ad", "#d35400", "#16a085", "#7f8c8d",
                   "#b7950b", "#2c3e50", "#e84393", "#6c5ce7", "#00838f"];
    var FONT = 'system-ui, "Noto Sans", "WenQuanYi Zen Hei", sans-serif';

    /* plotly reads every string it is given (names, axis values, tick and node text) as its own
       HTML subset (<a href>, <b>, <br>...): anything from the data goes through here first. */
    function escapeText(s) {
      return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
    }
    function wrap(s, width) {
      var words = escapeText(s).split(/\s+/), lines = [], line = "";
      words.forEach(function (w) {
        while (w.length > width) {  /* CJK text has no spaces: cut it */
          if (line) { lines.push(line); line = ""; }
          lines.push(w.slice(0, width)); w = w.slice(width);
        }
        if ((line + " " + w).length > width && line) { lines.push(line); line = w; }
        else { line = line ? line + " " + w : w; }
      });
      if (line) { lines.push(line); }
      return lines.slice(0, 8).join("<br>");
    }

    var countries = [];
    data.events.forEach(function (e) { if (countries.indexOf(e.country) < 0) { countries.push(e.country); } });
    data.actors.forEach(function (a) { if (countries.indexOf(a.country) < 0) { countries.push(a.country); } });
    countries.sort();
    function colour(country) { return PALETTE[countries.indexOf(country) % PALETTE.length]; }
    function narrow() { return window.innerWidth < 700; }
    var config = { responsive: true, displayModeBar: false };

    function baseLayout(height) {
      return {
        height: height, font: { family: FONT, size: 12 }, hovermode: "closest",
        margin: { l: narrow() ? 90 : 170, r: 10, t: 10, b: 40 },
        paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "#fff",
        legend: { orientation: "h", y: -0.15 },
        hoverlabel: { align: "left", font: { family: FONT } }
      };
    }

    function laneName(name) { return escapeText(name.length > 24 ? name.slice(0, 23) + "…" : name); }

    function drawTimeline(lane) {
      var lanes = [];
      data.events.forEach(function (e) { var k = e[lane]; if (lanes.indexOf(k) < 0) { lanes.push(k); } });
      var traces = countries.map(function (c) {
        var ev = data.events.filter(function (e) { return e.country === c; });
        return {
          type: "scatter", mode: "markers", name: escapeText(c),
          x: ev.map(function (e) { return e.t; }),
          y: ev.map(function (e) { return laneName(e[lane]); }),
          customdata: ev.map(function (e) { return e.id; }),
          hovertext: ev.map(function (e) {
            return "<b>" + escapeText(e.actor) + "</b> (" + escapeText(e.country) + ")<br>" + e.t.slice(0, 10) +
              (e.copy ? " · copy" : "") + "<br>" + wrap(e.text, 60);
          }),
          hoverinfo: "text",
          marker: { color: colour(c), size: 9, opacity: 0.8, symbol: ev.map(function (e) { return e.copy ? "circle-open" : "circle"; }) }
        };
      }).filter(function (t) { return t.x.length; });
      var earlier = data.events.filter(function (e) { return e.earlier; });
      if (earlier.length) {
        traces.push({
          type: "scatter", mode: "markers", name: "earlier possible mention",
          x: earlier.map(function (e) { return e.t; }), y: earlier.map(function (e) { return laneName(e[lane]); }),
          customdata: earlier.map(function (e) { return e.id; }),
          hovertext: earlier.map(function (e) { return "<b>Earlier possible mention: " + escapeText(e.actor) + "</b><br>" + e.t.slice(0, 10) + "<br>" + wrap(e.text, 60); }),
          hoverinfo: "text",
          marker: { symbol: "diamond-open", size: 15, color: "#5b6475", line: { width: 2 } }
        });
      }
      var first = data.events.filter(function (e) { return e.first; });
      if (first.length) {
        traces.push({
          type: "scatter", mode: "markers", name: "first mover",
          x: first.map(function (e) { return e.t; }), y: first.map(function (e) { return laneName(e[lane]); }),
          customdata: first.map(function (e) { return e.id; }),
          hovertext: first.map(function (e) { return "<b>First mover: " + escapeText(e.actor) + "</b><br>" + e.t.slice(0, 10) + "<br>" + wrap(e.text, 60); }),
          hoverinfo: "text",
          marker: { symbol: "star", size: 18, color: "#f4b400", line: { color: "#000", width: 1 } }
        });
      }
      var layout = baseLayout(Math.min(Math.max(260, lanes.length * 24 + 110), 1400));
      layout.yaxis = { type: "category", categoryorder: "array", autorange: "reversed",
                       categoryarray: lanes.map(laneName), automargin: true };
      var times = data.events.map(function (e) { return Date.parse(e.t); });
      layout.xaxis = { type: "date", rangebreaks: gaps([Math.min.apply(null, times) - 1, Math.max.apply(null, times) + 1]) };
      plot(document.getElementById("timeline-chart"), traces, layout);
    }

    /* The quiet time between waves takes no room on the date axes (the whole narrative only). */
    function gaps(range) {
      var out = [];
      (data.breaks || []).forEach(function (b) {
        var lo = Date.parse(b[0]), hi = Date.parse(b[1]), pad = (hi - lo) * 0.04;
        if (hi - lo > 30 * 86400e3 && lo > range[0] && hi < range[1]) {
          out.push({ bounds: [new Date(lo + pad).toISOString(), new Date(hi - pad).toISOString()] });
        }
      });
      return out;
    }

    /* The box takes the plot's height, so a resized window never leaves a tall plot spilling over
       a shrunken box onto the next section; plotly then only fits the width (responsive). */
    function plot(div, traces, layout) {
      div.style.height = layout.height + "px";
      return window.Plotly.react(div, traces, layout, config);
    }

    /* After drawing, measure: a name that still touches a name kept before it (or a first mover's star)
       is hidden. The estimate in placeLabels leaves few such names; this makes sure of it. */
    function declutter(div, starTrace, priority) {
      var layers = div.querySelectorAll(".scatterlayer .trace");
      var starLayer = starTrace >= 0 ? layers[starTrace] : null;
      var kept = [];
      function named(roots) {
        var texts = [];
        roots.forEach(function (root) {
          Array.prototype.forEach.call(root.querySelectorAll(".textpoint text"), function (t) { if (t.textContent) { texts.push(t); } });
        });
        return texts.sort(function (a, b) { return (priority[b.textContent] || 0) - (priority[a.textContent] || 0); });
      }
      function keep(t) {
        var b = t.getBoundingClientRect();
        var clash = kept.some(function (k) { return b.left < k.right && k.left < b.right && b.top < k.bottom && k.top < b.bottom; });
        if (clash) { t.style.display = "none"; } else { kept.push(b); }
      }
      /* First movers' names first (each sits on its own star), then the stars, then every other name. */
      if (starLayer) {
        named([starLayer]).forEach(keep);
        Array.prototype.forEach.call(starLayer.querySelectorAll(".point"), function (pt) { kept.push(pt.getBoundingClientRect()); });
      }
      named(Array.prototype.filter.call(layers, function (layer) { return layer !== starLayer; })).forEach(keep);
    }

    /* Keep a label only where it overlaps no label kept before it (most important first), measured in
       pixels of the plot as it will be drawn: crowded names give way, and the table lists them all. */
    function placeLabels(nodes, toPx, fontPx, avoid, bounds) {
      var kept = avoid.map(function (n) { var p = toPx(n); return { l: p.x - 9, r: p.x + 9, t: p.y - 7, b: p.y + 7 }; });
      function free(box) {
        return box.l >= bounds[0] && box.r <= bounds[1] && !kept.some(function (k) {
          return box.l < k.r && k.l < box.r && box.t < k.b && k.t < box.b;
        });
      }
      return nodes.map(function (n) {
        var p = toPx(n), text = laneName(n.a.name), w = 0, h = fontPx * 1.5 + 3;
        for (var i = 0; i < n.a.name.length && i < 24; i++) { w += n.a.name.charCodeAt(i) > 0x2e80 ? fontPx : fontPx * 0.62; }
        var above = { l: p.x - w / 2 - 3, r: p.x + w / 2 + 3, t: p.y - p.r - h, b: p.y - p.r + 1 };
        var below = { l: above.l, r: above.r, t: p.y + p.r - 1, b: p.y + p.r + h };
        if (free(above)) { kept.push(above); return { text: text, pos: "top center" }; }
        if (free(below)) { kept.push(below); return { text: text, pos: "bottom center" }; }
        return { text: "", pos: "top center" };
      });
    }


    var shownEdges = data.graph_edges;

    function drawGraph() {
      var div = document.getElementById("graph-chart");
      if (!div) { return Promise.resolve(); }
      var edges = data.edges.slice(0, shownEdges);
      var linked = {};
      edges.forEach(function (e) { linked[e.from] = true; linked[e.to] = true; });
      var firsts = {};  /* node ids of the first movers drawn: "name", or "wave:name" wave by wave */
      data.events.forEach(function (e) { if (e.first) { firsts[e.actor] = true; firsts[e.wave + ":" + e.actor] = true; } });
      var actors = data.actors.filter(function (a) { return linked[a.id] || firsts[a.id]; });
      var byName = {}, perCountry = {};
      var lanes = [];
      actors.forEach(function (a) { if (lanes.indexOf(a.country) < 0) { lanes.push(a.country); } });
      lanes.sort();
      actors.forEach(function (a) {
        var i = perCountry[a.country] = (perCountry[a.country] || 0) + 1;
        byName[a.id] = { x: a.first_seen, y: lanes.indexOf(a.country) + ((i % 5) - 2) * 0.14, a: a };
      });
      var traces = [], annotations = [];
      [[1, 1, "#c9d1dd"], [2, 4, "#9aa7ba"], [5, 1e9, "#5b6475"]].forEach(function (band) {
        var x = [], y = [];
        edges.forEach(function (e) {
          var s = byName[e.from], t = byName[e.to];
          if (!s || !t || e.weight < band[0] || e.weight > band[1]) { return; }
          x.push(s.x, t.x, null); y.push(s.y, t.y, null);
        });
        if (x.length) {
          traces.push({ type: "scatter", mode: "lines", x: x, y: y, hoverinfo: "skip", showlegend: false,
                        line: { color: band[2], width: band[0] === 1 ? 1 : band[0] === 2 ? 2 : 3 } });
        }
      });
      edges.slice(0, 60).forEach(function (e) {
        var s = byName[e.from], t = byName[e.to];
        if (!s || !t) { return; }
        annotations.push({ x: t.x, y: t.y, ax: s.x, ay: s.y, xref: "x", yref: "y", axref: "x", ayref: "y",
                           showarrow: true, arrowhead: 2, arrowsize: 1, arrowwidth: 1, arrowcolor: "#5b6475",
                           opacity: 0.6, text: "", standoff: 6 });
      });
      var height = Math.max(280, lanes.length * 80 + 100);
      var layout = baseLayout(height);
      layout.margin.l = 60;
      layout.margin.r = 40;
      var times = actors.map(function (a) { return Date.parse(a.first_seen); });
      var lo = times.length ? Math.min.apply(null, times) : Date.now(), hi = times.length ? Math.max.apply(null, times) : lo;
      var pad = Math.max((hi - lo) * 0.06, 3600e3);
      var xr = [lo - pad, hi + pad], yr = [lanes.length - 0.4, -0.6];
      var width = div.clientWidth - layout.margin.l - layout.margin.r;
      var skipped = gaps(xr).map(function (g) { return [Date.parse(g.bounds[0]), Date.parse(g.bounds[1])]; });
      function shown(t) {  /* milliseconds of axis actually drawn up to t (rangebreaks take no room) */
        var v = t - xr[0];
        skipped.forEach(function (g) { v -= Math.max(0, Math.min(t, g[1]) - g[0]); });
        return v;
      }
      var plotH = height - layout.margin.t - layout.margin.b;
      function toPx(n) {
        return { x: shown(Date.parse(n.x)) / shown(xr[1]) * width,
                 y: (n.y - yr[1]) / (yr[0] - yr[1]) * plotH, width: width,  /* range [bottom, top]: reversed */
                 r: firsts[n.a.id] ? 9 : (8 + Math.min(n.a.statements, 20)) / 2 };
      }
      var order = actors.map(function (a) { return byName[a.id]; }).sort(function (p, q) {
        return (firsts[q.a.id] ? 1e9 : q.a.statements) - (firsts[p.a.id] ? 1e9 : p.a.statements);
      });
      var labels = {};
      var stars = order.filter(function (n) { return firsts[n.a.id]; });
      var where = {};
      placeLabels(order, toPx, 10, stars, [4 - layout.margin.l, width + layout.margin.r - 4]).forEach(function (found, i) {
        labels[order[i].a.id] = found.text;
        where[order[i].a.id] = found.pos;
      });
      function hover(a) {
        return "<b>" + escapeText(a.name) + "</b> (" + escapeText(a.country) + ", " + escapeText(a.kind) + ")<br>first: " +
          a.first_seen.slice(0, 10) + " · lag " + escapeText(a.lag) + "<br>" + a.statements + (a.statements === 1 ? " statement" : " statements");
      }
      var movers = actors.filter(function (a) { return firsts[a.id]; });
      if (movers.length) {
        traces.push({ type: "scatter", mode: "markers+text", name: "first mover", cliponaxis: false,
                      x: movers.map(function (a) { return byName[a.id].x; }), y: movers.map(function (a) { return byName[a.id].y; }),
                      text: movers.map(function (a) { return labels[a.id]; }), textfont: { size: 10 },
                      textposition: movers.map(function (a) { return where[a.id]; }),
                      hovertext: movers.map(hover), hoverinfo: "text",
                      marker: { symbol: "star", size: 16, color: "#f4b400", line: { color: "#000", width: 1 } } });
      }
      lanes.forEach(function (c) {
        var nodes = actors.filter(function (a) { return a.country === c && !firsts[a.id]; });
        if (!nodes.length) { return; }
        traces.push({
          type: "scatter", mode: "markers+text", name: escapeText(c),
          x: nodes.map(function (a) { return byName[a.id].x; }), y: nodes.map(function (a) { return byName[a.id].y; }),
          text: nodes.map(function (a) { return labels[a.id]; }),
          textposition: nodes.map(function (a) { return where[a.id]; }),
          textfont: { size: 10 }, cliponaxis: false,
          hovertext: nodes.map(hover), hoverinfo: "text",
          marker: { color: colour(c), size: nodes.map(function (a) { return 8 + Math.min(a.statements, 20); }),
                    line: { color: "#fff", width: 1 } }
        });
      });
      layout.xaxis = { type: "date", range: [new Date(xr[0]).toISOString(), new Date(xr[1]).toISOString()],
                       rangebreaks: gaps(xr) };
      layout.yaxis = { tickmode: "array", tickvals: lanes.map(function (c, i) { return i; }), ticktext: lanes.map(escapeText),
                       range: yr, zeroline: false };
      layout.annotations = annotations;
      var starTrace = -1, priority = {};
      traces.forEach(function (t, i) { if (t.name === "first mover") { starTrace = i; } });
      order.forEach(function (n, i) { var k = labels[n.a.id]; if (k && !(k in priority)) { priority[k] = order.length - i; } });
      var starLayer = traces.slice(0, starTrace + 1).filter(function (t) { return t.type === "scatter"; }).length - 1;
      var count = document.querySelector(".graph-count");
      if (count) {
        count.textContent = (edges.length === 1 ? "The strongest link of " : "The " + edges.length + " strongest links of ") +
          data.edges_total + (edges.length === 1 ? " is drawn." : " are drawn.") +
          (actors.length ? " Names that would overlap are left off; hover a dot, or read the table." : "");
      }
      return Promise.resolve(plot(div, traces, layout)).then(function () {
        declutter(div, starTrace >= 0 ? starLayer : -1, priority);
      });
    }

    function openStatement(ev) {
      var p = ev && ev.points && ev.points[0];
      if (p && p.customdata) { window.location.href = data.statement_url + p.customdata; }
    }

    var lane = "actor";
    drawTimeline(lane);
    var ready = drawGraph();
    Array.prototype.forEach.call(document.querySelectorAll(".edge-toggle"), function (button) {
      button.addEventListener("click", function () {
        shownEdges = parseInt(button.getAttribute("data-edges"), 10);
        Array.prototype.forEach.call(document.querySelectorAll(".edge-toggle"), function (b) {
          b.setAttribute("aria-pressed", b === button ? "true" : "false");
        });
        drawGraph();
      });
    });
    /* A new width changes which names fit and the margins: redraw both (after the resizing stops). */
    var resizeTimer = null, lastWidth = window.innerWidth;
    window.addEventListener("resize", function () {
      if (resizeTimer) { window.clearTimeout(resizeTimer); }
      resizeTimer = window.setTimeout(function () {
        if (window.innerWidth === lastWidth) { return; }
        lastWidth = window.innerWidth;
        document.documentElement.classList.remove("charts-ready");
        drawTimeline(lane);
        drawGraph().then(function () { document.documentElement.classList.add("charts-ready"); });
      }, 150);
    });
    document.getElementById("timeline-chart").on("plotly_click", openStatement);
    Array.prototype.forEach.call(document.querySelectorAll(".lane-toggle"), function (button) {
      button.addEventListener("click", function () {
        lane = button.getAttribute("data-lane");
        Array.prototype.forEach.call(document.querySelectorAll(".lane-toggle"), function (b) {
          b.setAttribute("aria-pressed", b === button ? "true" : "false");
        });
        drawTimeline(lane);
      });
    });
    ready.then(function () { document.documentElement.classList.add("charts-ready"); });
  }
}());
