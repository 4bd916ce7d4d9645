// The door's check-in page (/door/CODE): the citizen scanned the code at the hall's door
// with the phone's camera; every phone ticket and booking of today that this phone holds
// is checked in with it (POST /api/door/check-in). Without any, it says how to go on.
(function () {
  "use strict";
  var Q = window.QRATE, T = Q.T, fmt = Qrate.fmt;
  var $ = function (id) { return document.getElementById(id); };
  Qrate.token = null;  // a citizen's page: anonymous
  var today = Qrate.day(new Date(), Q.tz);
  var mine = window.QrateMine.of(today);

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function local(url) { return (url || "").replace(/^https?:\/\/[^/]+/, ""); }

  function card(ok, title, text, href) {
    var c = el("section", "card result " + (ok ? "ok" : "no"));
    c.appendChild(el("div", "r-title", title));
    if (text) c.appendChild(el("p", "hint", text));
    if (href) {
      var a = el("a", "go", T.follow);
      a.href = href;
      c.appendChild(a);
    }
    $("results").appendChild(c);
    return c;
  }

  function checkIn(m) {
    return Qrate.api("/api/door/check-in", {method: "POST", body: {door: Q.door, key: m.key}})
      .then(function (t) {
        var c = card(true, fmt(T.checkedIn, {number: t.number}),
                     t.late ? T.late : (t.appointment ? fmt(T.slot, {slot: t.slot_label}) : T.waitCall),
                     local(t.status_url));
        c.dataset.number = t.number;
        if (t.appointment) c.querySelector(".r-title").appendChild(el("sup", "appt", T.appt));
        window.QrateMine.forget(m.key);
      })
      .catch(function (err) {
        if (err.code === "door_code_old" || err.code === "door_code_wrong") {
          $("stale").textContent = err.message;
          $("stale").classList.remove("hidden");
          return "stop";
        }
        if (err.code === "already_checked_in" || err.code === "not_remote") window.QrateMine.forget(m.key);
        card(false, T.notNow, err.message, m.kind === "ticket" ? "/t/" + m.key : "/book/b/" + m.key);
      });
  }

  if (!mine.length) {
    $("none").classList.remove("hidden");
  } else {
    $("working").classList.remove("hidden");
    mine.reduce(function (p, m) {
      return p.then(function (stop) { return stop === "stop" ? stop : checkIn(m); });
    }, Promise.resolve()).then(function () { $("working").classList.add("hidden"); });
  }
})();
