// The ticket kiosk: services from the live snapshot, one tap to a ticket.
(function () {
  "use strict";
  var Q = window.QRATE, T = Q.t;
  var KEY = "qrate.kiosk.token";
  var url = new URL(location.href);
  var token = url.searchParams.get("token");
  if (token) {  // opened once with ?token=...; keep it and take it out of the address bar
    try { localStorage.setItem(KEY, token); } catch (e) {}
    url.searchParams.delete("token");
    history.replaceState(null, "", url.pathname + url.search);
  } else {
    try { token = localStorage.getItem(KEY); } catch (e) {}
  }

  var $ = function (id) { return document.getElementById(id); };
  var services = [], lastSeq = null, printer = null, priority = null, busy = false;
  var connected = false, offlineTimer = null, returnTimer = null;

  function fmt(s, params) {
    return s.replace(/\{(\w+)\}/g, function (_, k) { return params[k]; });
  }
  function waitText(sec) {
    if (sec === null || sec === undefined) return T.waitUnknown;
    if (sec === 0) return T.waitNone;
    return fmt(T.waitMin, {n: Math.max(1, Math.round(sec / 60))});
  }
  function names(s) {
    return Q.lang === "en" ? [s.name_en, s.name] : [s.name, s.name_en];
  }
  function headers() {
    var h = {"Content-Type": "application/json"};
    if (token) h.Authorization = "Bearer " + token;
    return h;
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
    fetch("/api/printer", {headers: headers(), credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
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
    fetch("/api/tickets", {method: "POST", headers: headers(), credentials: "same-origin",
                           body: JSON.stringify(body)})
      .then(function (r) { return r.json().then(function (j) { return [r.status, j]; }); })
      .then(function (res) {
        busy = false;
        if (res[0] === 201) { done(res[1], s); }
        else if (res[0] === 401 || res[0] === 403) { fail(T.noToken); }
        else { fail(res[1].error ? (Q.lang === "en" ? res[1].error.message_en : res[1].error.message) : T.failed); }
      })
      .catch(function () { busy = false; fail(T.failed); });
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

  function tick() {
    // The hall's time, whatever time zone the kiosk PC was set to.
    var text;
    try {
      text = new Date().toLocaleTimeString("en-GB", {timeZone: Q.tz, hour: "2-digit", minute: "2-digit", hour12: false});
    } catch (e) {
      var d = new Date(), p = function (x) { return (x < 10 ? "0" : "") + x; };
      text = p(d.getHours()) + ":" + p(d.getMinutes());
    }
    $("clock").textContent = text;
  }
  setInterval(tick, 5000); tick();

  // Live state: a snapshot on connect, then events in sequence; a gap asks for a new snapshot.
  var socket = io({transports: ["websocket", "polling"], auth: token ? {token: token} : {},
                   reconnectionDelay: 500, reconnectionDelayMax: 3000});
  socket.on("connect", function () {
    clearTimeout(offlineTimer);
    $("offline-banner").classList.add("hidden");
    loadPrinter();
  });
  socket.on("disconnect", function () {
    // Never show a count the server may no longer hold: blank them after a moment.
    offlineTimer = setTimeout(function () {
      connected = false;
      $("offline-banner").classList.remove("hidden");
      renderServices();
    }, 2000);
  });
  socket.on("snapshot", function (snap) {
    connected = true;
    lastSeq = snap.seq;
    services = snap.services;
    if (!$("start").classList.contains("hidden")) renderServices();
  });
  socket.on("event", function (e) {
    if (lastSeq !== null && e.seq !== lastSeq + 1) { socket.emit("snapshot"); return; }
    lastSeq = e.seq;
    if (e.services) { services = e.services; if (!busy) renderServices(); }
    if (e.type === "device.changed" && e.kind === "printer") { printer = e; renderPrinter(); }
  });
  if (Q.lang === "en") {  // back to Chinese when an English session is left idle
    var idle = null;
    var poke = function () { clearTimeout(idle); idle = setTimeout(function () { location.href = location.pathname; }, 60000); };
    ["click", "touchstart"].forEach(function (ev) { document.addEventListener(ev, poke, true); });
    poke();
  }
  document.body.dataset.ready = "1";
})();
