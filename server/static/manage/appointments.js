// The dashboard's appointments table (History tab): booked, checked in, no-show,
// cancelled, and walk-in vs appointment waits side by side, with punctuality
// (GET /api/stats/appointments; definitions in docs/figures.md).
(function () {
  "use strict";
  var table = document.getElementById("t-appointments");
  if (!table) return;
  var head = JSON.parse(table.dataset.head);
  function mins(s) {
    return ["mean", "p50", "p90", "max"].map(function (k) { return Qrate.minutes(s[k]); }).join(" / ");
  }
  function load() {
    if (location.hash !== "#history") return;
    var f = document.getElementById("range");
    if (!f.from.value) return;  // the dashboard fills the range first
    Qrate.api("/api/stats/appointments?from=" + f.from.value + "&to=" + f.to.value).then(function (body) {
      var html = "<tr>" + head.map(function (h) { return "<th>" + Qrate.esc(h) + "</th>"; }).join("") + "</tr>";
      body.rows.forEach(function (r) {
        var cells = [r.service === "*" ? "Σ" : r.service, r.name, r.booked, r.checked_in, r.late, r.no_show,
          r.cancelled, Qrate.pct(r.show_rate), mins(r.walk_in_wait_s), mins(r.appointment_wait_s), mins(r.punctuality_s)];
        html += "<tr>" + cells.map(function (c) { return "<td>" + Qrate.esc(c) + "</td>"; }).join("") + "</tr>";
      });
      table.innerHTML = html;
    }).catch(function () { /* not signed in yet */ });
  }
  document.getElementById("range").addEventListener("submit", function () { setTimeout(load, 0); });
  window.addEventListener("hashchange", function () { setTimeout(load, 300); });
  setTimeout(load, 800);
})();
