// The citizen's phone page: service → day → slot → details → the booking (code + QR),
// and, where the hall allows it, today's ticket taken from the phone.
(function () {
  "use strict";
  var Q = window.QRATE, T = Q.T, fmt = Qrate.fmt, EN = Q.lang === "en";
  var $ = function (id) { return document.getElementById(id); };
  var chosen = {service: null, day: null, slot: null};
  Qrate.token = null;  // the phone page is anonymous

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function name(x) { return EN ? x.name_en : x.name; }
  function other(x) { return EN ? x.name : x.name_en; }
  function showErr(id, err) {
    $(id).textContent = (err && err.message) || T.failed;
    $(id).classList.remove("hidden");
  }
  function addDays(iso, n) {
    var d = new Date(iso + "T12:00:00Z");
    d.setUTCDate(d.getUTCDate() + n);
    return d.toISOString().slice(0, 10);
  }

  function choose(box, button) {
    box.querySelectorAll(".on").forEach(function (b) { b.classList.remove("on"); });
    button.classList.add("on");
  }

  function loadServices() {
    Qrate.api("/api/appointments/services").then(function (body) {
      var box = $("services"), rbox = $("remote");
      if (!body.services.length) $("no-services").classList.remove("hidden");
      body.services.forEach(function (s) {
        var b = el("button", "choice", name(s));
        b.type = "button";
        b.appendChild(el("small", "", other(s)));
        b.addEventListener("click", function () { choose(box, b); pickService(s); });
        box.appendChild(b);
        if (body.remote_tickets && s.remote_quota > 0) {
          var r = el("button", "choice", name(s));
          r.type = "button";
          r.appendChild(el("small", "", other(s)));
          r.addEventListener("click", function () { takeRemote(s); });
          rbox.appendChild(r);
          $("s-remote").classList.remove("hidden");
        }
      });
    });
  }

  function pickService(s) {
    chosen = {service: s, day: null, slot: null};
    $("s-day").classList.remove("hidden");
    $("s-form").classList.add("hidden");
    var days = $("days");
    days.textContent = "";
    $("slots").textContent = "";
    var today = Qrate.day(new Date(), Q.tz), wd = T.weekdays.split(",");
    var firstOpen = null;
    var list = [];
    for (var i = 0; i <= s.horizon_days; i++) list.push(addDays(today, i));
    Promise.all(list.map(function (d) {
      return Qrate.api("/api/slots?service=" + encodeURIComponent(s.code) + "&day=" + d)
        .catch(function () { return null; });
    })).then(function (answers) {
      answers.forEach(function (a, i) {
        var d = list[i];
        var w = new Date(d + "T12:00:00Z").getUTCDay();
        var b = el("button", "day");
        b.type = "button";
        b.appendChild(el("span", "", i === 0 ? T.today : wd[(w + 6) % 7]));
        b.appendChild(el("b", "", d.slice(5).replace("-", "/")));
        var free = a && a.slots.some(function (x) { return x.bookable; });
        b.disabled = !free;
        b.title = free ? "" : T.closedDay;
        b.addEventListener("click", function () { choose(days, b); showSlots(s, a); });
        days.appendChild(b);
        if (free && !firstOpen) firstOpen = [b, a];
      });
      if (firstOpen) { choose(days, firstOpen[0]); showSlots(s, firstOpen[1]); }
    });
  }

  function showSlots(s, answer) {
    chosen.day = answer.day;
    var box = $("slots");
    box.textContent = "";
    answer.slots.forEach(function (x) {
      var b = el("button", "slot", x.label.split("-")[0]);
      b.type = "button";
      var begun = !x.bookable && x.free > 0;
      b.appendChild(el("small", "", begun ? T.begun : (x.free > 0 ? fmt(T.free, {n: x.free}) : T.full)));
      b.disabled = !x.bookable;
      b.addEventListener("click", function () { choose(box, b); pickSlot(s, answer, x); });
      box.appendChild(b);
    });
  }

  function pickSlot(s, answer, x) {
    chosen.slot = x;
    $("picked").textContent = name(s) + " · " + answer.day + " " + x.label;
    $("s-form").classList.remove("hidden");
    $("f-err").classList.add("hidden");
    $("s-form").scrollIntoView({behavior: "smooth", block: "start"});
  }

  $("form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (!chosen.slot) return;
    var go = $("f-go");
    go.disabled = true;
    go.textContent = T.booking;
    $("f-err").classList.add("hidden");
    Qrate.api("/api/appointments", {method: "POST", body: {
      service: chosen.service.code, slot: chosen.slot.slot, name: $("f-name").value.trim(),
      phone: $("f-phone").value.trim(), id_last4: $("f-id").value.trim().toUpperCase()}})
      .then(function (b) { location.href = b.status_url.replace(/^https?:\/\/[^/]+/, ""); })
      .catch(function (err) { go.disabled = false; go.textContent = T.book; showErr("f-err", err); });
  });

  function takeRemote(s) {
    $("r-err").classList.add("hidden");
    Qrate.api("/api/remote-tickets", {method: "POST", body: {service: s.code}})
      .then(function (t) { location.href = t.status_url.replace(/^https?:\/\/[^/]+/, ""); })
      .catch(function (err) { showErr("r-err", err); });
  }

  function renderMine(b) {
    $("b-service").textContent = EN ? b.service_name_en : b.service_name;
    $("b-slot").textContent = b.day + " " + b.slot_label;
    $("b-state").textContent = T[b.status] || b.status;
    $("b-state").className = "b-state " + b.status;
    $("b-code").textContent = b.code;
    $("b-qr").src = Q.qrBase + "?code=" + encodeURIComponent(b.code);
    var active = b.status === "booked";
    $("b-qr").classList.toggle("hidden", !active);
    $("b-when").textContent = fmt(T.checkinWhen, {opens: Qrate.time(b.checkin_opens), closes: Qrate.time(b.checkin_closes)});
    $("b-when").classList.toggle("hidden", !active);
    $("b-who").textContent = b.name + " · " + b.phone;
    $("b-cancel").classList.toggle("hidden", !active);
    $("b-door").classList.toggle("hidden", !active || b.day !== Qrate.day(new Date(), Q.tz));
    if (active) window.QrateMine.remember("booking", Q.key, b.day);
    var t = b.ticket;
    $("b-ticket").classList.toggle("hidden", !t);
    if (t) {
      $("b-ticket").textContent = fmt(T.yourTicket, {number: t.number}) + " · " + T.follow;
      $("b-ticket").href = t.status_url.replace(/^https?:\/\/[^/]+/, "");
    }
  }

  function loadMine() {
    Qrate.api("/api/appointments/status/" + encodeURIComponent(Q.key))
      .then(renderMine)
      .catch(function (err) {
        if (err.status === 404) { $("mine").classList.add("hidden"); $("missing").classList.remove("hidden"); }
      });
  }

  $("b-cancel").addEventListener("click", function () {
    if (!window.confirm(T.cancelAsk)) return;
    Qrate.api("/api/appointments/" + encodeURIComponent($("b-code").textContent), {method: "DELETE"})
      .then(renderMine)
      .catch(function (err) { showErr("b-err", err); });
  });

  $("b-door").addEventListener("submit", function (ev) {
    ev.preventDefault();
    $("b-err").classList.add("hidden");
    Qrate.api("/api/door/check-in", {method: "POST", body: {
      door: $("b-door-code").value.replace(/\s/g, ""), key: Q.key}})
      .then(function () { window.QrateMine.forget(Q.key); loadMine(); })
      .catch(function (err) { showErr("b-err", err); });
  });

  if (Q.key) { loadMine(); setInterval(loadMine, 30000); } else { loadServices(); }
})();
