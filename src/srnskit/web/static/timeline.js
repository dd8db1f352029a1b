// Draws the patient's timeline in #timeline-chart from its Vega-Lite specification
// (data-spec: the URL of /patients/{id}/timeline.json). Loaded with every timeline panel htmx
// swaps in; Vega (/static/vega.js) is loaded once. vega-embed runs with Vega's expression
// interpreter (ast: true): no eval, so the page's CSP stays 'self'-only.
(function () {
  "use strict";
  if (window.srnskitTimeline) {
    window.srnskitTimeline.draw();
    return;
  }
  var vegaLoading = null;

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

  function draw() {
    var chart = document.getElementById("timeline-chart");
    if (!chart || chart.dataset.drawn === chart.dataset.spec) return;
    var url = chart.dataset.spec;
    chart.dataset.drawn = url;
    Promise.all([loadVega(), fetch(url, { credentials: "same-origin" })])
      .then(function (done) {
        if (!done[1].ok) throw new Error("the timeline could not be read (" + done[1].status + ")");
        return done[1].json();
      })
      .then(function (spec) {
        if (chart.dataset.spec !== url) return; // another set was chosen meanwhile
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

  window.srnskitTimeline = { draw: draw };
  document.addEventListener("htmx:afterSettle", draw);
  draw();
})();
