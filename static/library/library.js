// The library's selection: click a card's box, shift-click for a range, keyboard with
// Space on the focused box; "Select all"; the count; one confirmation that says how many
// before a bulk delete. Everything works without it except the shift range and the count.
(function () {
  "use strict";
  var last = null;

  function boxes() { return Array.prototype.slice.call(document.querySelectorAll("#gallery-grid input.select")); }
  function refresh() {
    var all = boxes();
    var n = all.filter(function (b) { return b.checked; }).length;
    all.forEach(function (b) { b.closest(".card-tile").classList.toggle("selected", b.checked); });
    document.querySelectorAll(".bulk-count .n").forEach(function (el) { el.textContent = n; });
  }

  document.addEventListener("click", function (event) {
    var box = event.target.closest && event.target.closest("input.select");
    if (box) {
      var all = boxes();
      if (event.shiftKey && last && last !== box) {
        var a = all.indexOf(last), b = all.indexOf(box);
        all.slice(Math.min(a, b), Math.max(a, b) + 1).forEach(function (x) { x.checked = box.checked; });
      }
      last = box;
      refresh();
      return;
    }
    if (event.target.closest && event.target.closest(".select-all")) {
      var every = boxes();
      var on = every.some(function (x) { return !x.checked; });
      every.forEach(function (x) { x.checked = on; });
      refresh();
    }
  });
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("input.select")) refresh();
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.id !== "bulk-form" || form.elements.action.value !== "delete") return;
    var n = boxes().filter(function (b) { return b.checked; }).length;
    if (!window.confirm("Delete " + n + (n === 1 ? " item" : " items") + "? This cannot be undone.")) {
      event.preventDefault();
    }
  });
  document.addEventListener("htmx:afterSettle", function () { last = null; refresh(); });
})();
