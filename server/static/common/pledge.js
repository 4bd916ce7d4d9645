/* A clerk's yearly public commitment (公开承诺) with its progress this year, for the
   lobby's 阳光政务 panel and the idle pad: GET /api/pledges?staff= (public; the words come
   translated with it). QratePledge.fill(element, employeeNo, english, textElement) puts the
   year's text into textElement and appends to element one line per target, e.g. "承诺平均办理不超过 10 分钟 · 本年 9.2 分钟". Rounding happens only here. */
(function () {
  "use strict";
  var cache = {}, TTL = 60000;

  function load(staff) {
    var hit = cache[staff];
    if (hit && Date.now() - hit.at < TTL) return hit.promise;
    var promise = fetch("/api/pledges?staff=" + encodeURIComponent(staff), {credentials: "omit"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .catch(function () { return null; });
    cache[staff] = {at: Date.now(), promise: promise};
    return promise;
  }
  function round(v, digits) {
    var f = Math.pow(10, digits), x = Math.round(v * f) / f;
    return String(x);
  }
  function value(v, unit, w) {
    if (unit === "s") return w.minutes.replace("%(n)s", round(v / 60, 1));
    if (unit === "rate") return round(v * 100, 1) + "%";
    if (unit === "per_h") return w.per_hour.replace("%(n)s", round(v, 1));
    if (unit === "count") return String(Math.round(v));
    return round(v, 2);
  }
  function line(t, english, w) {
    var label = english ? t.label_en : t.label;
    var head = (t.better === "lower" ? w.at_most : w.at_least)
      .replace("%(label)s", label).replace("%(target)s", value(t.target, t.unit, w));
    var tail = t.value === null ? w.no_data : w.so_far.replace("%(value)s", value(t.value, t.unit, w));
    return head + " · " + tail;
  }
  function fill(el, staff, english, textEl) {
    if (!el || !staff) return;
    el.dataset.pledgeFor = staff;
    Array.prototype.slice.call(el.querySelectorAll(".pledge")).forEach(function (n) { n.remove(); });
    load(staff).then(function (body) {
      if (!body || el.dataset.pledgeFor !== staff || !body.commitments.length) return;
      var c = body.commitments[0], w = body.words[english ? "en" : "zh"];
      if (textEl) textEl.textContent = (english && c.text_en) || c.text;
      var box = document.createElement("div");
      box.className = "pledge";
      c.targets.forEach(function (t) {
        var d = document.createElement("div");
        d.className = "pledge-line " + (t.kept === null ? "" : t.kept ? "kept" : "short");
        d.textContent = line(t, english, w);
        box.appendChild(d);
      });
      el.appendChild(box);
    });
  }
  window.QratePledge = {fill: fill, line: line};
})();
