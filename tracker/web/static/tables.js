/* Sortable tables: a header button sorts its column (numbers by each cell's data-value, text by its
   words); a second click reverses. The server sends the rows in their most useful order first, so the
   table reads the same without this script. */
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    var body = table.tBodies[0];
    var buttons = table.querySelectorAll("thead button[data-sort]");
    Array.prototype.forEach.call(buttons, function (button, column) {
      button.addEventListener("click", function () {
        var numeric = button.getAttribute("data-sort") === "num";
        var current = button.parentNode.getAttribute("aria-sort");
        var descending = current ? current === "ascending" : numeric;  /* first click: most first, or A to Z */
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[column], y = b.cells[column], r;
          if (numeric) { r = parseFloat(x.getAttribute("data-value")) - parseFloat(y.getAttribute("data-value")); }
          else { r = x.textContent.trim().localeCompare(y.textContent.trim()); }
          return descending ? -r : r;
        });
        rows.forEach(function (row) { body.appendChild(row); });
        Array.prototype.forEach.call(buttons, function (b) { b.parentNode.removeAttribute("aria-sort"); });
        button.parentNode.setAttribute("aria-sort", descending ? "descending" : "ascending");
      });
    });
  });
}());
