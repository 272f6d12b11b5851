/* The first table after a marker element: a sibling table, or one inside a following sibling. */
function kbtoolsTableAfter(marker) {
  "use strict";
  var node = marker.nextElementSibling;
  while (node) {
    if (node.tagName === "TABLE") return node;
    var inner = node.querySelector && node.querySelector("table");
    if (inner) return inner;
    node = node.nextElementSibling;
  }
  return null;
}

/* Run setup(element) on every element matching selector, on each page load (mkdocs-material's
 * instant navigation reloads pages without a DOMContentLoaded). */
function kbtoolsOnEachPage(selector, setup) {
  "use strict";
  function init() {
    Array.prototype.forEach.call(document.querySelectorAll(selector), setup);
  }
  if (typeof window.document$ !== "undefined" && window.document$.subscribe) {
    window.document$.subscribe(init);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
}

/* kbtools: filter registry tables by text and by facet columns (Modality, Tags, ...).
 * A <div class="kb-filter" data-facets="Col1,Col2"> placed before a table adds a search box and
 * one drop-down per named column. URL parameters (?modality=fmri&q=mamba) preset the filters. */
(function () {
  "use strict";

  function cellValues(cell) {
    return cell.textContent.split(",").map(function (s) {
      return s.replace("\u26a0", "").trim();
    }).filter(function (s) { return s && s !== "\u2013"; });
  }

  function setup(marker) {
    if (marker.dataset.ready) return;
    var table = kbtoolsTableAfter(marker);
    if (!table || !table.tBodies.length) return;
    marker.dataset.ready = "1";
    var headers = Array.prototype.map.call(table.tHead.rows[0].cells, function (th) {
      return th.textContent.trim();
    });
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var params = new URLSearchParams(window.location.search);

    var box = document.createElement("input");
    box.type = "search";
    box.className = "kb-filter__text";
    box.placeholder = "Filter " + rows.length + " rows";
    box.setAttribute("aria-label", "Filter rows");
    box.value = params.get("q") || "";
    marker.appendChild(box);

    var selects = [];
    (marker.dataset.facets || "").split(",").forEach(function (name) {
      name = name.trim();
      var col = headers.indexOf(name);
      if (col < 0) return;
      var values = {};
      rows.forEach(function (row) {
        if (row.cells[col]) cellValues(row.cells[col]).forEach(function (v) { values[v] = true; });
      });
      var select = document.createElement("select");
      select.className = "kb-filter__facet";
      select.setAttribute("aria-label", name);
      select.dataset.column = String(col);
      select.dataset.key = name.toLowerCase();
      var all = document.createElement("option");
      all.value = "";
      all.textContent = name + ": all";
      select.appendChild(all);
      Object.keys(values).sort().forEach(function (v) {
        var opt = document.createElement("option");
        opt.value = v;
        opt.textContent = name + ": " + v;
        select.appendChild(opt);
      });
      var wanted = params.get(select.dataset.key);
      if (wanted && values[wanted]) select.value = wanted;
      marker.appendChild(select);
      selects.push(select);
    });

    var count = document.createElement("span");
    count.className = "kb-filter__count";
    marker.appendChild(count);

    function apply() {
      var text = box.value.trim().toLowerCase();
      var shown = 0;
      rows.forEach(function (row) {
        var ok = !text || row.textContent.toLowerCase().indexOf(text) >= 0;
        selects.forEach(function (select) {
          if (ok && select.value) {
            var cell = row.cells[Number(select.dataset.column)];
            ok = !!cell && cellValues(cell).indexOf(select.value) >= 0;
          }
        });
        row.hidden = !ok;
        if (ok) shown += 1;
      });
      count.textContent = shown + " of " + rows.length + " shown";
      var query = new URLSearchParams(window.location.search);
      if (text) query.set("q", box.value.trim()); else query.delete("q");
      selects.forEach(function (s) {
        if (s.value) query.set(s.dataset.key, s.value); else query.delete(s.dataset.key);
      });
      var search = query.toString();
      window.history.replaceState(null, "", window.location.pathname + (search ? "?" + search : "") + window.location.hash);
    }

    box.addEventListener("input", apply);
    selects.forEach(function (s) { s.addEventListener("change", apply); });
    apply();
  }

  kbtoolsOnEachPage(".kb-filter", setup);
})();

/* kbtools: pick which runs a comparison page shows. A <div class="kb-compare" data-runs="a b c"
 * data-shown="b c"> adds one check box per run; every table after a <div class="kb-compare-table">
 * marker then shows only the ticked runs' columns (column 1 + i is run i). With data-delta, each
 * number gets its change from the leftmost shown run; with data-diff, rows whose shown runs
 * agree are hidden. Without JavaScript every run is shown. */
(function () {
  "use strict";

  /* The number a cell shows first ("0.765 ± 0.012" -> 0.765) and its decimals; null for
   * text, yes/no and powers of ten. */
  function number(text) {
    var clean = text.replace(/\u2212/g, "-").replace(/,/g, "").trim();
    if (clean.indexOf("\u00d7") >= 0) return null;
    var match = /^(-?\d*\.?\d+)(?:$|\s*[\u00b1\[])/.exec(clean);
    if (!match) return null;
    var dot = match[1].indexOf(".");
    return { value: parseFloat(match[1]), decimals: dot < 0 ? 0 : match[1].length - dot - 1 };
  }

  function setup(box) {
    if (box.dataset.ready) return;
    box.dataset.ready = "1";
    var runs = (box.dataset.runs || "").split(" ").filter(Boolean);
    var shown = (box.dataset.shown || "").split(" ").filter(Boolean);
    var tables = Array.prototype.map.call(
      document.querySelectorAll(".kb-compare-table"), function (marker) {
        return { marker: marker, table: kbtoolsTableAfter(marker) };
      }).filter(function (t) { return t.table; });
    var html = Array.prototype.slice.call(document.querySelectorAll("table.kb-compare-html"));
    var labels = tables.length ? Array.prototype.map.call(
      tables[0].table.tHead.rows[0].cells, function (th) { return th.textContent.trim(); }
    ).slice(1) : runs;
    var picks = [];
    var legend = document.createElement("span");
    legend.className = "kb-compare__label";
    legend.textContent = "Show runs:";
    box.appendChild(legend);
    runs.forEach(function (run, i) {
      var label = document.createElement("label");
      var check = document.createElement("input");
      check.type = "checkbox";
      check.value = run;
      check.checked = shown.indexOf(run) >= 0;
      check.setAttribute("aria-label", "Show run " + run);
      label.appendChild(check);
      label.appendChild(document.createTextNode(" " + (labels[i] || run)));
      label.title = run;
      box.appendChild(label);
      picks.push(check);
      check.addEventListener("change", apply);
    });

    function apply() {
      var on = picks.map(function (c) { return c.checked; });
      tables.forEach(function (t) {
        var rows = Array.prototype.slice.call(t.table.rows);
        rows.forEach(function (row, r) {
          var cells = Array.prototype.slice.call(row.cells, 1);
          cells.forEach(function (cell, i) { cell.hidden = !on[i]; });
          if (r === 0) return;
          var visible = cells.filter(function (cell, i) { return on[i]; });
          if (t.marker.dataset.diff) {
            var first = visible.length ? visible[0].textContent.trim() : "";
            row.hidden = visible.length > 1 && visible.every(function (cell) {
              return cell.textContent.trim() === first;
            });
          }
          if (t.marker.dataset.delta) {
            var base = null;
            visible.forEach(function (cell, k) {
              var old = cell.querySelector(".kb-delta");
              if (old) old.remove();
              var value = number(cell.textContent);
              if (k === 0) { base = value; return; }
              if (value === null || base === null) return;
              /* the change to the precision the two shown values have */
              var decimals = Math.max(value.decimals, base.decimals);
              var diff = (value.value - base.value).toFixed(decimals);
              if (Number(diff) === 0) return;
              var d = document.createElement("small");
              d.className = "kb-delta";
              d.textContent = " (" + (Number(diff) > 0 ? "+" : "") + diff + ")";
              cell.appendChild(d);
            });
          }
        });
        /* a table whose shown runs agree on every row says so instead of showing a header */
        if (t.marker.dataset.diff) {
          var body = Array.prototype.slice.call(t.table.tBodies[0] ? t.table.tBodies[0].rows : []);
          var empty = body.every(function (row) { return row.hidden; });
          var wrap = t.table.closest(".md-typeset__scrollwrap") || t.table;
          wrap.hidden = empty;
          if (!t.note) {
            t.note = document.createElement("p");
            t.note.className = "kb-compare-same";
            t.note.textContent = t.marker.dataset.same || "The runs shown agree on every row.";
            wrap.parentNode.insertBefore(t.note, wrap.nextSibling);
          }
          t.note.hidden = !empty;
        }
      });
      html.forEach(function (table) {
        Array.prototype.forEach.call(table.rows, function (row) {
          Array.prototype.slice.call(row.cells, 1).forEach(function (cell, i) {
            cell.hidden = !on[i];
          });
        });
      });
    }
    apply();
  }

  kbtoolsOnEachPage(".kb-compare", setup);
})();
