/* kbtools: filter registry tables by text and by facet columns (Modality, Tags, ...).
 * A <div class="kb-filter" data-facets="Col1,Col2"> placed before a table adds a search box and
 * one drop-down per named column. URL parameters (?modality=fmri&q=mamba) preset the filters. */
(function () {
  "use strict";

  function findTable(marker) {
    var node = marker.nextElementSibling;
    while (node) {
      if (node.tagName === "TABLE") return node;
      var inner = node.querySelector && node.querySelector("table");
      if (inner) return inner;
      node = node.nextElementSibling;
    }
    return null;
  }

  function cellValues(cell) {
    return cell.textContent.split(",").map(function (s) {
      return s.replace("\u26a0", "").trim();
    }).filter(function (s) { return s && s !== "\u2013"; });
  }

  function setup(marker) {
    if (marker.dataset.ready) return;
    var table = findTable(marker);
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

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll(".kb-filter"), setup);
  }

  if (typeof window.document$ !== "undefined" && window.document$.subscribe) {
    window.document$.subscribe(init);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
