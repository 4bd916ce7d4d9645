// The ticket kiosk: services from the live snapshot, one tap to a ticket.
(function () {
  "use strict";
  var Q = window.QRATE, T = Q.T, fmt = Qrate.fmt;
  // opened once with ?token=...; kept (and taken out of the address bar) under this key
  Qrate.token = Qrate.deviceToken("qrate.kiosk.token");

  var $ = function (id) { return document.getElementById(id); };
  var services = [], printer = null, priority = null, busy = false;
  var connected = false, returnTimer = null;

  function waitText(sec) {
    if (Qrate.isNull(sec)) return T.waitUnknown;
    if (sec === 0) return T.waitNone;
    return fmt(T.waitMin, {n: Math.max(1, Qrate.wholeMinutes(sec))});
  }
  function names(s) {
    return Q.lang === "en" ? [s.name_en, s.name] : [s.name, s.name_en];
  }
  function show(id) {
    ["start", "done", "error"].forEach(function (s) { $(s).classList.toggle("hidden", s !== id); });
  }

  function renderServices() {
    var box = $("services");
    box.textContent = "";
    services.forEach(function (s) {
      var b = document.createElement("button");
      b.className = "service" + (s.open ? "" : " closed");
      b.dataset.code = s.code;
      b.disabled = !s.open;
      var n = names(s);
      var main = document.createElement("span"); main.className = "s-main"; main.textContent = n[0];
      var sub = document.createElement("span"); sub.className = "s-sub"; sub.textContent = n[1];
      var info = document.createElement("span"); info.className = "s-info";
      if (!s.open) {
        info.textContent = s.closed_reason === "daily_cap" ? T.capped : fmt(T.closed, {hours: s.hours});
      } else if (!connected) {
        info.textContent = "—";
      } else {
        info.textContent = fmt(T.waiting, {n: s.waiting}) + " · " + waitText(s.estimated_wait_s);
      }
      var code = document.createElement("span"); code.className = "s-code"; code.textContent = s.code;
      b.append(code, main, sub, info);
      b.addEventListener("click", function () { take(s); });
      box.appendChild(b);
    });
  }

  function renderPrinter() {
    var el = $("printer-banner");
    if (printer && !printer.can_print) {
      el.textContent = (Q.lang === "en" ? printer.message_en : printer.message) + " — " + T.noPaper;
      el.classList.remove("hidden");
    } else {
      el.classList.add("hidden");
    }
  }

  function loadPrinter() {
    Qrate.api("/api/printer")
      .then(function (p) { if (p) { printer = p; renderPrinter(); } })
      .catch(function () {});
  }

  function setPriority(on) {
    priority = on ? (priority || "elderly") : null;
    $("priority-bar").classList.toggle("hidden", !on);
    $("priority-btn").classList.toggle("hidden", on);
    $("prompt").classList.toggle("hidden", on);
    document.body.classList.toggle("priority-mode", on);
  }
  document.querySelectorAll(".kind").forEach(function (b) {
    b.addEventListener("click", function () {
      priority = b.dataset.kind;
      document.querySelectorAll(".kind").forEach(function (o) {
        o.classList.toggle("selected", o === b);
        o.setAttribute("aria-checked", o === b ? "true" : "false");
      });
    });
  });
  $("priority-btn").addEventListener("click", function () { setPriority(true); });
  $("priority-cancel").addEventListener("click", function () { setPriority(false); });

  function take(s) {
    if (busy || !s.open) return;
    busy = true;
    var body = {service: s.code, priority: !!priority};
    if (priority) body.priority_kind = priority;
    Qrate.api("/api/tickets", {method: "POST", body: body})
      .then(function (t) { busy = false; done(t, s); })
      .catch(function (err) {
        busy = false;
        if (err.status === 401 || err.status === 403) fail(T.noToken);
        else fail(err.code ? err.message : T.failed);  // the server's reason, else "ask the staff"
      });
  }

  function countdown(id, onEnd) {
    clearInterval(returnTimer);
    var left = Q.returnS;
    $(id).textContent = "(" + left + ")";
    returnTimer = setInterval(function () {
      left -= 1;
      $(id).textContent = "(" + left + ")";
      if (left <= 0) { clearInterval(returnTimer); onEnd(); }
    }, 1000);
  }

  function done(t, s) {
    $("d-number").textContent = t.number;
    var n = names(s);
    $("d-service").textContent = n[0] + (t.priority ? " · " + T.priority : "");
    $("d-where").textContent = fmt(T.windows, {list: s.windows.join(T.sep)});
    $("d-wait").textContent = fmt(T.ahead, {n: t.waiting_ahead}) + " · " + waitText(t.estimated_wait_s);
    $("d-qr").src = Q.qrBase + "?data=" + encodeURIComponent(t.status_url);
    var canPrint = !printer || printer.can_print;
    $("d-print").textContent = canPrint ? T.printing : T.noPaper;
    $("d-print").classList.toggle("bad", !canPrint);
    show("done");
    countdown("d-count", home);
  }

  function fail(text) {
    $("e-text").textContent = text;
    show("error");
    clearInterval(returnTimer);
    returnTimer = setTimeout(home, 8000);
  }

  function home() {
    if (Q.lang === "en") { location.href = location.pathname; return; }  // the next citizen starts in Chinese
    clearInterval(returnTimer);
    clearTimeout(returnTimer);
    setPriority(false);
    show("start");
    renderServices();
  }
  $("d-ok").addEventListener("click", home);
  $("e-ok").addEventListener("click", home);

  Qrate.clock($("clock"));  // the hall's time, whatever time zone the kiosk PC was set to

  // Live state: a snapshot on connect, then events in sequence (common/live.js).
  new QrateLive({
    // never show a count the server may no longer hold: blank them after a moment offline
    offlineDelayMs: 2000,
    onStatus: function (online) {
      connected = online;
      $("offline-banner").classList.toggle("hidden", online);
      if (!online) renderServices();
    },
    onSnapshot: function (st) {
      connected = true;
      services = st.services;
      loadPrinter();
      if (!$("start").classList.contains("hidden")) renderServices();
    },
    onEvent: function (e, st) {
      if (e.services) { services = st.services; if (!busy) renderServices(); }
      if (e.type === "device.changed" && e.kind === "printer") { printer = e; renderPrinter(); }
    },
  });
  if (Q.lang === "en") {  // back to Chinese when an English session is left idle
    var idle = null;
    var poke = function () { clearTimeout(idle); idle = setTimeout(function () { location.href = location.pathname; }, 60000); };
    ["click", "touchstart"].forEach(function (ev) { document.addEventListener(ev, poke, true); });
    poke();
  }
  document.body.dataset.ready = "1";
})();
