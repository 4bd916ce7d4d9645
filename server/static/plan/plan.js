/* The staffing plan page: GET /api/plan for each day of the coming week; what-if from
 * each row's options (docs/planning.md). */
(function () {
  "use strict";
  var Q = window.QRATE, T = Q.T;
  var $ = function (s) { return document.querySelector(s); };
  var esc = Qrate.esc, pct = Qrate.pct;
  var plans = {}, chosen = Q.day, whatIf = {};   // whatIf[day][hour|part] = windows

  function wday(iso) { var d = new Date(iso + "T12:00:00"); return ((d.getDay() + 6) % 7) + 1; }

  function option(part, n) {
    var opts = part.options, first = opts[0], last = opts[opts.length - 1];
    if (n < first.windows) return {windows: n, expected_wait_s: null, share_within_target: 0, below: true};
    if (n > last.windows) return last;
    for (var i = 0; i < opts.length; i++) if (opts[i].windows === n) return opts[i];
    return last;
  }

  function scheduledOf(day, hour, part) {
    var k = hour + "|" + part.service, w = whatIf[day] || {};
    if (k in w) return w[k];
    return part.scheduled_windows;
  }

  function hourState(day, h) {
    var sched = null, risk = false, changed = false;
    h.parts.forEach(function (p) {
      var s = scheduledOf(day, h.hour, p);
      if (s !== null && s !== undefined) { sched = (sched || 0) + s; if (s < p.windows_needed) risk = true; }
      if (whatIf[day] && (h.hour + "|" + p.service) in whatIf[day]) changed = true;
    });
    return {scheduled: sched, risk: risk, changed: changed};
  }

  function renderWeek() {
    var hours = {};
    Q.days.forEach(function (d) { (plans[d] ? plans[d].hours : []).forEach(function (h) { hours[h.hour] = 1; }); });
    var hs = Object.keys(hours).map(Number).sort(function (a, b) { return a - b; });
    var head = "<tr><th>" + esc(T.hour) + "</th>" + Q.days.map(function (d) {
      var p = plans[d], off = p && !p.workday ? " · " + esc(T.day_off) : "";
      return "<th class='" + (d === chosen ? "daysel" : "") + "'>" + esc(T["weekday_" + wday(d)]) + " " +
        esc(d.slice(5)) + off + "</th>";
    }).join("") + "</tr>";
    var body = hs.map(function (hour) {
      return "<tr><th>" + (hour < 10 ? "0" : "") + hour + ":00</th>" + Q.days.map(function (d) {
        var h = plans[d] && plans[d].hours.filter(function (x) { return x.hour === hour; })[0];
        if (!h) return "<td class='muted'>—</td>";
        var st = hourState(d, h);
        var cls = "cell " + (st.scheduled === null ? "" : st.risk ? "risk" : "ok") + (d === chosen ? " sel" : "");
        var title = T.needed + " " + h.windows_needed + " / " + T.scheduled + " " + (st.scheduled === null ? "—" : st.scheduled);
        return "<td class='" + cls + "' data-day='" + d + "' title='" + esc(title) + "'>" + h.windows_needed +
          " / " + (st.scheduled === null ? "—" : st.scheduled) + (st.risk ? " !" : "") + "</td>";
      }).join("") + "</tr>";
    }).join("");
    $("#week").innerHTML = "<thead>" + head + "</thead><tbody>" + (body ||
      "<tr><td class='muted'>" + esc(T.no_data) + "</td></tr>") + "</tbody>";
  }

  function waitText(o) {
    if (o.below || o.expected_wait_s === null || o.expected_wait_s === undefined) return esc(T.unstable);
    return (o.expected_wait_s / 60).toFixed(1) + " " + esc(T.min);
  }

  function renderDay() {
    var p = plans[chosen];
    $("#day-title").textContent = T["weekday_" + wday(chosen)] + " " + chosen;
    if (!p) { $("#day").innerHTML = ""; return; }
    $("#promise").textContent = Qrate.fmt(T.target_share, {share: pct(p.target_share, 0)});
    $("#basis").textContent = T.basis + ": " + (p.basis_days.length ? p.basis_days.join(", ") : "—") +
      " (" + p.basis_days.length + " " + T.days + ")";
    var head = "<tr><th class='l'>" + esc(T.hour) + "</th><th class='l'>" + esc(T.service) + "</th><th>" +
      esc(T.method) + "</th><th>" + esc(T.needed) + "</th><th>" + esc(T.scheduled) + "</th><th>" +
      esc(T.what_if) + "</th><th>" + esc(T.wait) + "</th><th>" + esc(T.share) + "</th><th class='l'></th></tr>";
    var rows = [];
    if (!p.hours.length) rows.push("<tr><td class='l muted' colspan='9'>" + esc(T.no_data) + "</td></tr>");
    p.hours.forEach(function (h) {
      var st = hourState(chosen, h);
      rows.push("<tr class='hour'><td class='l'>" + (h.hour < 10 ? "0" : "") + h.hour + ":00</td><td class='l'></td><td></td><td>" +
        h.windows_needed + "</td><td class='" + (st.changed ? "changed" : "") + "'>" + (st.scheduled === null ? "—" : st.scheduled) +
        "</td><td></td><td></td><td></td><td class='l " + (st.scheduled === null ? "" : st.risk ? "risk" : "ok") + "'>" +
        (st.scheduled === null ? esc(T.no_rota) : st.risk ? esc(T.at_risk) : esc(T.ok)) + "</td></tr>");
      h.parts.forEach(function (part) {
        var s = scheduledOf(chosen, h.hour, part), n = s === null || s === undefined ? part.windows_needed : s;
        var o = option(part, n), ok = o.share_within_target >= p.target_share;
        var changed = whatIf[chosen] && (h.hour + "|" + part.service) in whatIf[chosen];
        rows.push("<tr><td></td><td class='l'>" + esc(part.service) + "</td><td>" + esc(T[part.method] || part.method) +
          "</td><td>" + part.windows_needed + "</td><td>" + (part.scheduled_windows === null ? "—" : part.scheduled_windows) +
          "</td><td class='" + (changed ? "changed" : "") + "'><button data-h='" + h.hour + "' data-p='" + esc(part.service) +
          "' data-d='-1' title='" + esc(T.remove) + "'>−</button> <b>" + n + "</b> <button data-h='" + h.hour +
          "' data-p='" + esc(part.service) + "' data-d='1' title='" + esc(T.add) + "'>+</button></td><td>" +
          waitText(o) + "</td><td class='" + (ok ? "ok" : "risk") + "'>" + pct(o.share_within_target, 1) +
          "</td><td class='l'><span class='bar need' data-w='" + 6 * part.windows_needed + "'></span> " +
          "<span class='bar' data-w='" + 6 * n + "'></span></td></tr>");
      });
    });
    $("#day").innerHTML = "<thead>" + head + "</thead><tbody>" + rows.join("") + "</tbody>";
    // widths set through the DOM: the page's CSP refuses inline style attributes
    document.querySelectorAll("#day .bar[data-w]").forEach(function (b) { b.style.width = b.dataset.w + "px"; });
  }

  function render() { renderWeek(); renderDay(); }

  document.addEventListener("click", function (ev) {
    var cell = ev.target.closest("td.cell");
    if (cell) { chosen = cell.dataset.day; render(); return; }
    var b = ev.target.closest("button[data-h]");
    if (!b) return;
    var hour = Number(b.dataset.h), p = plans[chosen];
    var h = p.hours.filter(function (x) { return x.hour === hour; })[0];
    var part = h.parts.filter(function (x) { return x.service === b.dataset.p; })[0];
    var cur = scheduledOf(chosen, hour, part);
    if (cur === null || cur === undefined) cur = part.windows_needed;
    var next = Math.max(0, cur + Number(b.dataset.d));
    whatIf[chosen] = whatIf[chosen] || {};
    whatIf[chosen][hour + "|" + part.service] = next;
    render();
  });

  Promise.all(Q.days.map(function (d) {
    return Qrate.api("/api/plan?day=" + d).then(function (p) { plans[d] = p; })
      .catch(function (e) { $("#basis").textContent = e.message || T.sign_in; });
  })).then(function () {
    document.body.dataset.ready = "1";
    render();
  });
})();
