// The SPARQL editor at /: YASGUI on this server's endpoint, a chart view of results, and the canned queries as
// examples. Everything it loads comes from this server: prefixes from /prefixes.json (completion) and the same map in
// the page (result tables), never from prefix.cc or LOV.
"use strict";
document.documentElement.classList.add("js");

(function () {
  const config = JSON.parse(document.getElementById("editor-config").textContent);
  const endpoint = new URL(config.endpoint, window.location.href).href;

  // A YASR view that draws the first text column against the first numeric column as bars (Chart.js).
  class ChartPlugin {
    constructor(yasr) {
      this.yasr = yasr;
      this.priority = 5;
      this.label = "Chart";
      this.chart = null;
    }
    columns() {
      const results = this.yasr.results;
      if (!results || !results.getVariables || results.getType() !== "json") return null;
      const vars = results.getVariables();
      const rows = results.getBindings() || [];
      if (!rows.length) return null;
      const numeric = vars.find((v) => rows.every((r) => !r[v] || (r[v].type === "literal" || r[v].type === "typed-literal") && r[v].value !== "" && !isNaN(Number(r[v].value))) && rows.some((r) => r[v]));
      if (!numeric) return null;
      const label = vars.find((v) => v !== numeric && rows.some((r) => r[v] && isNaN(Number(r[v].value)))) || vars.find((v) => v !== numeric);
      return label ? { label, numeric, rows } : null;
    }
    canHandleResults() {
      return this.columns() !== null;
    }
    getIcon() {
      const icon = document.createElement("span");
      icon.setAttribute("aria-hidden", "true");
      icon.textContent = "▤";
      return icon;
    }
    draw() {
      const cols = this.columns();
      if (!cols) return;
      const rows = cols.rows.slice(0, 60);
      const box = document.createElement("div");
      box.className = "pfocr-chart";
      const canvas = document.createElement("canvas");
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", `Bar chart of ${cols.numeric} by ${cols.label}` +
        (cols.rows.length > rows.length ? ` (first ${rows.length} of ${cols.rows.length} rows)` : ""));
      box.appendChild(canvas);
      this.yasr.resultsEl.appendChild(box);
      const short = (term) => {
        if (!term) return "";
        const value = term.value;
        return term.type === "uri" ? value.replace(/^.*[\/#]/, "") : value;
      };
      if (this.chart) this.chart.destroy();
      this.chart = new window.Chart(canvas, {
        type: "bar",
        data: {
          labels: rows.map((r) => short(r[cols.label])),
          datasets: [{ label: cols.numeric, data: rows.map((r) => Number(r[cols.numeric] ? r[cols.numeric].value : 0)),
                       backgroundColor: "#2a6fb8" }],
        },
        options: { indexAxis: rows.length > 12 ? "y" : "x", animation: false, responsive: true,
                   plugins: { legend: { display: false } } },
      });
    }
    destroy() {
      if (this.chart) this.chart.destroy();
      this.chart = null;
    }
  }
  window.Yasgui.Yasr.registerPlugin("chart", ChartPlugin);

  // The result table: simple view (prefixed names, plain values) unless the reader switches it off, and the
  // dataset's own IRIs linked to this server's pages rather than to the published site.
  const Table = window.Yasgui.Yasr.plugins.table;
  const site = config.site;
  class PfocrTable extends Table {
    draw(persistentConfig) {
      return super.draw({ compact: true, ...(persistentConfig || {}) });
    }
    getUriLinkFromBinding(binding, prefixes) {
      const html = super.getUriLinkFromBinding(binding, prefixes);
      if (!binding.value.startsWith(site)) return html;
      const box = document.createElement("template");
      box.innerHTML = html;
      const link = box.content.querySelector("a");
      if (!link) return html;
      link.setAttribute("href", "/" + binding.value.slice(site.length));
      link.setAttribute("target", "_self");
      link.removeAttribute("ref");
      return box.innerHTML;
    }
  }
  window.Yasgui.Yasr.registerPlugin("table", PfocrTable);

  const yasgui = new window.Yasgui(document.getElementById("yasgui"), {
    requestConfig: { endpoint, method: "POST" },
    copyEndpointOnNewTab: true,
    endpointCatalogueOptions: { getData: () => [{ endpoint }] },
    yasqe: { prefixCcApi: config.prefixes, value: config.default },
    yasr: { prefixes: config.prefixMap },
  });
  window.pfocrEditor = yasgui;

  // YASGUI leaves some of its fields without a label; screen readers need one.
  const labelFields = () => {
    for (const field of document.querySelectorAll("#yasgui input, #yasgui select, #yasgui textarea")) {
      if (field.labels.length || field.getAttribute("aria-label")) continue;
      const near = field.closest(".selector") && field.closest(".selector").querySelector("label");
      const name = near ? `Result format (${near.textContent})`
        : field.closest(".CodeMirror") ? "SPARQL query"
        : field.classList.contains("autocomplete") ? "SPARQL endpoint" : field.placeholder || field.title;
      if (name) field.setAttribute("aria-label", name);
    }
  };
  labelFields();
  new MutationObserver(labelFields).observe(document.getElementById("yasgui"), { childList: true, subtree: true });

  // Tabs restored from an earlier visit may point elsewhere: this page's editor queries this server.
  const tab = yasgui.getTab();
  if (tab && tab.getEndpoint && tab.getEndpoint() !== endpoint) tab.setEndpoint(endpoint);

  for (const form of document.querySelectorAll("form.example")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const params = new URLSearchParams(new FormData(form));
      const button = form.querySelector("button");
      button.disabled = true;
      try {
        const response = await fetch(`/queries/${encodeURIComponent(form.dataset.query)}.rq?${params}`);
        const text = await response.text();
        if (!response.ok) {
          window.alert(text);
          return;
        }
        const current = yasgui.getTab();
        current.setEndpoint(endpoint);
        current.setQuery(text);
        current.getYasqe().focus();
        await current.query();
      } finally {
        button.disabled = false;
      }
    });
  }
})();
