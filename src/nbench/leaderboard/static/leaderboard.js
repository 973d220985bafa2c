/* nbench leaderboard: tabs and sortable tables. No dependencies; the page works without it. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Tabs: one panel visible at a time; the URL fragment remembers the tab.
  var tabs = Array.prototype.slice.call(document.querySelectorAll('[role="tab"]'));
  function showTab(tab) {
    tabs.forEach(function (t) {
      var selected = t === tab;
      t.setAttribute("aria-selected", selected ? "true" : "false");
      t.tabIndex = selected ? 0 : -1;
      document.getElementById(t.getAttribute("aria-controls")).hidden = !selected;
    });
  }
  tabs.forEach(function (tab, i) {
    tab.addEventListener("click", function () {
      showTab(tab);
      try { history.replaceState(null, "", "#" + tab.id); } catch (err) { /* some file:// contexts refuse */ }
    });
    tab.addEventListener("keydown", function (e) {
      var step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
      if (step) {
        var next = tabs[(i + step + tabs.length) % tabs.length];
        next.focus();
        next.click();
      }
    });
  });
  if (tabs.length) {
    var fromHash = tabs.filter(function (t) { return "#" + t.id === location.hash; })[0];
    showTab(fromHash || tabs[0]);
  }

  // Sorting: first click on a column sorts best-first (data-better), the next click reverses.
  // Empty cells always go last; equal keys keep their previous order (stable sort).
  function key(row, col, type) {
    var raw = row.cells[col].getAttribute("data-sort");
    if (raw === null || raw === "") { return null; }
    return type === "num" ? parseFloat(raw) : raw.toLowerCase();
  }
  function sortTable(table, th) {
    var col = th.cellIndex, type = th.getAttribute("data-type");
    var best = th.getAttribute("data-better") === "desc" ? "descending" : "ascending";
    var current = th.getAttribute("aria-sort");
    var order = current === best ? (best === "ascending" ? "descending" : "ascending") : best;
    var sign = order === "ascending" ? 1 : -1;
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).map(function (row, i) {
      return { row: row, key: key(row, col, type), i: i };
    });
    rows.sort(function (a, b) {
      if (a.key === null || b.key === null) {
        return a.key === b.key ? a.i - b.i : (a.key === null ? 1 : -1);
      }
      if (a.key < b.key) { return -sign; }
      if (a.key > b.key) { return sign; }
      return a.i - b.i;
    });
    rows.forEach(function (r) { body.appendChild(r.row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) { cell.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", order);
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.lb"), function (table) {
    Array.prototype.forEach.call(table.querySelectorAll("th[data-type] button"), function (button) {
      button.addEventListener("click", function () { sortTable(table, button.parentNode); });
    });
  });
})();
