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
      layout.xaxis = { type: "date" };
      var div = document.getElementById("timeline-chart");
      window.Plotly.react(div, traces, layout, config);
    }

    function drawGraph() {
      var div = document.getElementById("graph-chart");
      if (!div) { return; }
      var byName = {}, perCountry = {};
      data.actors.forEach(function (a) {
        var i = perCountry[a.country] = (perCountry[a.country] || 0) + 1;
        byName[a.name] = { x: a.first_seen, y: countries.indexOf(a.country) + ((i % 5) - 2) * 0.12, a: a };
      });
      var traces = [], annotations = [];
      [[1, 1, "#c9d1dd"], [2, 4, "#9aa7ba"], [5, 1e9, "#5b6475"]].forEach(function (band) {
        var x = [], y = [];
        data.edges.forEach(function (e) {
          var s = byName[e.from], t = byName[e.to];
          if (!s || !t || e.weight < band[0] || e.weight > band[1]) { return; }
          x.push(s.x, t.x, null); y.push(s.y, t.y, null);
        });
        if (x.length) {
          traces.push({ type: "scatter", mode: "lines", x: x, y: y, hoverinfo: "skip", showlegend: false,
                        line: { color: band[2], width: band[0] === 1 ? 1 : band[0] === 2 ? 2 : 3 } });
        }
      });
      data.edges.slice(0, 60).forEach(function (e) {
        var s = byName[e.from], t = byName[e.to];
        if (!s || !t) { return; }
        annotations.push({ x: t.x, y: t.y, ax: s.x, ay: s.y, xref: "x", yref: "y", axref: "x", ayref: "y",
                           showarrow: true, arrowhead: 2, arrowsize: 1, arrowwidth: 1, arrowcolor: "#5b6475",
                           opacity: 0.6, text: "", standoff: 6 });
      });
      countries.forEach(function (c) {
        var nodes = data.actors.filter(function (a) { return a.country === c; });
        if (!nodes.length) { return; }
        traces.push({
          type: "scatter", mode: narrow() ? "markers" : "markers+text", name: escapeText(c),
          x: nodes.map(function (a) { return byName[a.name].x; }), y: nodes.map(function (a) { return byName[a.name].y; }),
          text: nodes.map(function (a) { return laneName(a.name); }), textposition: "top center",
          textfont: { size: 10 },
          hovertext: nodes.map(function (a) {
            return "<b>" + escapeText(a.name) + "</b> (" + escapeText(a.country) + ", " + escapeText(a.kind) + ")<br>first: " +
              a.first_seen.slice(0, 10) + " · lag " + escapeText(a.lag) + "<br>" + a.statements + " statements";
          }),
          hoverinfo: "text",
          marker: { color: colour(c), size: nodes.map(function (a) { return 8 + Math.min(a.statements, 20); }),
                    line: { color: "#fff", width: 1 } }
        });
      });
      var layout = baseLayout(Math.max(280, countries.length * 70 + 100));
      layout.margin.l = 60;
      layout.xaxis = { type: "date", title: { text: "first appearance" } };
      layout.yaxis = { tickmode: "array", tickvals: countries.map(function (c, i) { return i; }), ticktext: countries.map(escapeText),
                       range: [-0.6, countries.length - 0.4], zeroline: false };
      layout.annotations = annotations;
      window.Plotly.react(div, traces, layout, config);
    }

    function openStatement(ev) {
      var p = ev && ev.points && ev.points[0];
      if (p && p.customdata) { window.location.href = data.statement_url + p.customdata; }
    }

    var lane = "actor";
    drawTimeline(lane);
    drawGraph();
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
    document.documentElement.classList.add("charts-ready");
  }
}());
