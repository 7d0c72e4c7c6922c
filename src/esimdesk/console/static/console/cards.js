// The admin's lists as cards on a phone: each cell is labelled with its column's heading
// (console.css shows the label above the value below 768px). Without script the list
// keeps its table, which scrolls inside its box.
document.querySelectorAll("#result_list").forEach(function (table) {
  var labels = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
    return th.textContent.trim();
  });
  table.querySelectorAll("tbody tr").forEach(function (row) {
    Array.prototype.forEach.call(row.children, function (cell, i) {
      if (labels[i]) { cell.setAttribute("data-label", labels[i]); }
    });
  });
  table.classList.add("cards-on-phone");
});
