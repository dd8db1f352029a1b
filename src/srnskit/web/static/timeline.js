// Draws the patient's timeline in #timeline-chart from its Vega-Lite specification
// (data-spec: the URL of /patients/{id}/timeline.json), as wide as the chart's place: the
// specification is asked for with fit=<the place's width in px>, and asked for again when the
// place changes width (a tablet turned, a window resized). Loaded with every timeline panel
// htmx swaps in; Vega (/static/vega.js) is loaded once. vega-embed runs with Vega's expression
// interpreter (ast: true): no eval, so the page's CSP stays 'self'-only.
(function () {
  "use strict";
  if (window.srnskitTimeline) {
    window.srnskitTimeline.draw();
    return;
  }
  var vegaLoading = null;
  var MARGIN = 4; // px kept free: Vega's text measure may differ by a pixel or two from the browser's
  var REDRAW_AFTER = 24; // px of change in the place's width worth drawing again for
  var watched = null; // the chart whose width is watched, and its observer
  var observer = null;
  var resizing = null;

  function loadVega() {
    if (window.vegaEmbed) return Promise.resolve();
    if (!vegaLoading) {
      vegaLoading = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = "/static/vega.js";
        script.onload = resolve;
        script.onerror = function () { reject(new Error("Vega did not load")); };
        document.head.appendChild(script);
      });
    }
    return vegaLoading;
  }

  function say(chart, words) {
    var p = document.createElement("p");
    p.className = "field-error";
    p.textContent = words;
    chart.replaceChildren(p);
  }

  function fit(chart) {
    return Math.max(1, Math.floor(chart.clientWidth) - MARGIN);
  }

  function draw() {
    var chart = document.getElementById("timeline-chart");
    if (!chart) return;
    var width = fit(chart);
    var url = chart.dataset.spec + "&fit=" + width;
    var drawn = Number(chart.dataset.width || 0);
    if (chart.dataset.drawn === chart.dataset.spec && Math.abs(drawn - width) < REDRAW_AFTER) return;
    chart.dataset.drawn = chart.dataset.spec;
    chart.dataset.width = String(width);
    watch(chart);
    Promise.all([loadVega(), fetch(url, { credentials: "same-origin" })])
      .then(function (done) {
        if (!done[1].ok) throw new Error("the timeline could not be read (" + done[1].status + ")");
        return done[1].json();
      })
      .then(function (spec) {
        // another set was chosen or the place changed meanwhile: that drawing wins
        if (chart.dataset.spec + "&fit=" + chart.dataset.width !== url) return;
        return window.vegaEmbed(chart, spec, {
          actions: false,
          ast: true,
          renderer: "svg",
          defaultStyle: false,
          tooltip: { disableDefaultStyle: true },
        });
      })
      .catch(function (error) { say(chart, String(error.message || error)); });
  }

  // The place's width, watched: drawn again a moment after it stops changing.
  function watch(chart) {
    if (watched === chart || !window.ResizeObserver) return;
    if (observer) observer.disconnect();
    observer = new ResizeObserver(function () {
      clearTimeout(resizing);
      resizing = setTimeout(draw, 250);
    });
    observer.observe(chart);
    watched = chart;
  }

  window.srnskitTimeline = { draw: draw };
  document.addEventListener("htmx:afterSettle", draw);
  draw();
})();
