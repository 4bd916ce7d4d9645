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
  // the page is not in the device's own language: a citizen chose another
  function awayFromHome() { return (Q.lang === "en") !== (Q.hallLang === "en"); }
  function show(id) {
    ["start", "done", "error"].forEach(function (s) { $(s).classList.toggle("hidden", s !== id); });
  }

  // Big halls: when the services do not all fit as large cards, the start screen shows
  // the hall's categories first ([[services]] category): two taps to a ticket still.
  var view = {group: null, page: 0};  // group: null = the top level
  var MIN_W = 400, MIN_H = 220, GAP = 24;

  function infoOf(s) {
    if (!s.open) {
      if (s.closed_reason === "daily_cap") return T.capped;
      if (s.closed_reason === "slot_full") return fmt(T.slotFull, {slot: s.slot || ""});
      if (s.hours_ended) return fmt(T.ended, {hours: s.hours});
      return fmt(T.closed, {hours: s.hours});
    }
    if (!connected) return "—";
    if (!s.windows || !s.windows.length) return fmt(T.waiting, {n: s.waiting}) + " · " + T.noWindow;
    return fmt(T.waiting, {n: s.waiting}) + " · " + waitText(s.estimated_wait_s);
  }

  function groups() {
    var out = [], by = {};
    services.forEach(function (s) {
      var key = s.category || "";
      if (!(key in by)) {
        by[key] = {key: key, name: key || T.other, name_en: s.category_en || key || T.other, items: []};
        out.push(by[key]);
      }
      by[key].items.push(s);
    });
    return out;
  }

  // how many cards of one size the box holds. Size 0 is the large card; a list longer
  // than that (a big category, a hall without categories) takes smaller cards, down to
  // the smallest size (still at least 96 px high in elder mode, about 24 mm), so every
  // service is in view and two taps reach it: paging is the last resort only.
  var SIZES = {normal: [[MIN_W, MIN_H], [330, 170], [270, 130], [230, 100]],
               elderPortrait: [[460, 260], [380, 200], [320, 150], [270, 112]],
               elderLandscape: [[420, 220], [340, 170], [280, 130], [240, 112]]};
  var GAPS = [GAP, 18, 14, 14];  // the grid's gap at each size (kiosk.css, .services[data-size])
  function capacity(box, size) {
    var w = box.clientWidth, h = box.clientHeight;
    var big = document.body.classList.contains("elder");
    // elder mode: larger cards; on a landscape kiosk the 8 categories still fit one screen
    var land = window.matchMedia && matchMedia("(min-aspect-ratio: 4/3)").matches;
    var steps = big ? (land ? SIZES.elderLandscape : SIZES.elderPortrait) : SIZES.normal;
    var dims = steps[Math.min(size || 0, steps.length - 1)], gap = GAPS[Math.min(size || 0, GAPS.length - 1)];
    var cols = Math.max(1, Math.floor((w + gap) / (dims[0] + gap)));
    var rows = Math.max(1, Math.floor((h + gap) / (dims[1] + gap)));
    return {cols: cols, rows: rows, n: cols * rows, size: size || 0, last: (size || 0) >= steps.length - 1};
  }
  // the largest size at which all n cards fit (the smallest one if none does)
  function capacityFor(box, n) {
    var cap = capacity(box, 0);
    while (cap.n < n && !cap.last) cap = capacity(box, cap.size + 1);
    return cap;
  }
  function layout(box, n, cap) {
    var cols = cap.cols;
    while (cols > 1 && Math.ceil(n / (cols - 1)) <= cap.rows) cols -= 1;  // fewer, bigger cards
    box.style.gridTemplateColumns = "repeat(" + cols + ", minmax(0, 1fr))";
    box.style.gridTemplateRows = "repeat(" + Math.max(1, Math.ceil(n / cols)) + ", minmax(0, 1fr))";
  }
  // shrink a card's text until it fits: never cut off, never broken mid-word
  function fitText(card) {
    Array.prototype.forEach.call(card.querySelectorAll(".s-main, .s-sub, .s-info"), function (el) {
      el.style.fontSize = "";
      var size = parseFloat(getComputedStyle(el).fontSize);
      var room = card.clientWidth - 2 * parseFloat(getComputedStyle(card).paddingLeft || 0);
      while (size > 18 && el.scrollWidth > room + 1) {
        size -= 2;
        el.style.fontSize = size + "px";
      }
    });
    var main = card.querySelector(".s-main");
    var size = parseFloat(getComputedStyle(main).fontSize);
    while (size > 18 && card.scrollHeight > card.clientHeight + 1) {
      size -= 2;
      main.style.fontSize = size + "px";
    }
  }

  function card(cls, code, title, sub, info, onTap, disabled) {
    var b = document.createElement("button");
    b.className = cls + (disabled ? " closed" : "");
    b.disabled = !!disabled;
    var main = document.createElement("span"); main.className = "s-main"; main.textContent = title;
    var subEl = document.createElement("span"); subEl.className = "s-sub"; subEl.textContent = sub;
    var infoEl = document.createElement("span"); infoEl.className = "s-info"; infoEl.textContent = info;
    if (code) {
      var c = document.createElement("span"); c.className = "s-code"; c.textContent = code;
      c.setAttribute("aria-hidden", "true");
      b.appendChild(c);
    }
    b.append(main, subEl, infoEl);
    b.addEventListener("click", onTap);
    return b;
  }

  function renderServices() {
    var box = $("services");
    if ($("start").classList.contains("hidden")) return;  // drawn again when it shows
    box.textContent = "";
    box.style.gridTemplateColumns = box.style.gridTemplateRows = "";
    $("nav").classList.add("hidden");
    $("pager").classList.add("hidden");
    $("prompt").classList.toggle("hidden", !!priority);
    var cap = capacity(box);
    var all = groups();
    var flat = services.length <= cap.n || all.length < 2;
    var group = flat ? null : all.filter(function (g) { return g.key === view.group; })[0] || null;
    if (!group) view.group = null;
    var items;
    if (flat || group) {
      var list = group ? group.items : services;
      items = list.map(function (s) {
        var n = names(s);
        var b = card("service", s.code, n[0], n[1], infoOf(s), function () { take(s); }, !s.open);
        b.dataset.code = s.code;
        return b;
      });
    } else {
      items = all.map(function (g) {
        var waiting = g.items.reduce(function (a, s) { return a + (s.waiting || 0); }, 0);
        var open = g.items.some(function (s) { return s.open; });
        var en = Q.lang === "en";
        var b = card("service category", "", en ? g.name_en : g.name, en ? g.name : g.name_en,
                     fmt(T.catInfo, {n: g.items.length, w: waiting}),
                     function () { view = {group: g.key, page: 0}; renderServices(); Q.onGuide && Q.onGuide("group"); },
                     false);
        if (!open) b.classList.add("all-closed");
        b.dataset.category = g.key;
        return b;
      });
    }
    $("nav").classList.toggle("hidden", !group);
    if (group) {
      // the category's name and a way back take the prompt's place
      $("nav-title").textContent = Q.lang === "en" ? group.name_en : group.name;
      $("prompt").classList.add("hidden");
    }
    // a long list (a big category, the 8 categories in elder mode): smaller cards, all on one screen
    cap = capacityFor(box, items.length);
    box.dataset.size = cap.size;
    var pages = Math.max(1, Math.ceil(items.length / cap.n));
    view.page = Math.min(view.page, pages - 1);
    var shown = items.slice(view.page * cap.n, (view.page + 1) * cap.n);
    $("pager").classList.toggle("hidden", pages < 2);
    if (pages > 1) {
      $("page-no").textContent = fmt(T.page, {p: view.page + 1, n: pages});
      $("page-prev").disabled = view.page === 0;
      $("page-next").disabled = view.page >= pages - 1;
      cap = capacity(box, cap.size);
    }
    layout(box, shown.length, cap);
    shown.forEach(function (b) { box.appendChild(b); });
    shown.forEach(fitText);
  }
  // the hall's name whole: one line if it fits, else two (scaled down only if it must be)
  function fitHall() {
    var top = document.querySelector("header.top"), el = document.querySelector(".hall-main");
    if (!top || !el) return;
    top.classList.remove("long-name");
    el.style.fontSize = "";
    if (el.scrollWidth <= el.clientWidth + 1) return;
    top.classList.add("long-name");
    var size = parseFloat(getComputedStyle(el).fontSize);
    var lines = function () { return el.clientHeight / parseFloat(getComputedStyle(el).lineHeight); };
    while (size > 24 && (el.scrollWidth > el.clientWidth + 1 || lines() > 2.05)) {
      size -= 2;
      el.style.fontSize = size + "px";
    }
  }
  fitHall();
  addEventListener("resize", fitHall);
  if (document.fonts && document.fonts.ready) document.fonts.ready.then(fitHall);

  $("nav-back").addEventListener("click", function () { view = {group: null, page: 0}; renderServices(); });
  $("page-prev").addEventListener("click", function () { view.page -= 1; renderServices(); });
  $("page-next").addEventListener("click", function () { view.page += 1; renderServices(); });
  addEventListener("resize", function () { if (!$("start").classList.contains("hidden")) renderServices(); });

  function renderPrinter() {
    var el = $("printer-banner");
    if (printer && !printer.can_print) {
      el.textContent = (Q.lang === "en" ? printer.message_en : printer.message) + " — " + T.noPaper;
      el.classList.remove("hidden");
    } else {
      el.classList.add("hidden");
    }
  }

  // This kiosk's own printer (or the hall's default one): GET /api/printer answers for the
  // kiosk token that asks (for_kiosk); another kiosk's printer jamming is not ours to show.
  function onDevice(e) {
    var me = printer && printer.for_kiosk;
    if (e.kind === "kiosk" && me && e.kiosk === me) { loadPrinter(); return; }  // our printer was (un)bound
    if (e.kind !== "printer") return;
    if (!printer || e.device === printer.device || (me && e.kiosk === me)) {
      printer = Object.assign({}, e, {for_kiosk: me || null});
      renderPrinter();
    }
  }

  function loadPrinter() {
    Qrate.api("/api/printer")
      .then(function (p) { if (p) { printer = p; renderPrinter(); } })
      .catch(function () {});
  }

  // Elder mode (适老化): one tap from the start screen, on by default for the priority
  // path; larger type and targets, fewer cards a screen, slower timeouts, spoken guidance
  // from the hall's voice clips, and a button that calls the staff.
  var guideLog = window.qrateGuide = [];
  function elder() { return document.body.classList.contains("elder"); }
  function speak(url) {
    guideLog.push(url);
    var a = $("guide");
    a.src = url;
    var p = a.play();
    if (p && p.catch) p.catch(function () {});  // no sound (autoplay refused): the screen says it all
  }
  function setElder(on) {
    var was = elder();
    document.body.classList.toggle("elder", on);
    $("elder-btn").setAttribute("aria-pressed", on ? "true" : "false");
    if (on && !was) speak("/api/voice/guide/tap_service.wav" + (Q.lang === "en" ? "?lang=en" : ""));
    renderServices();
  }
  $("elder-btn").addEventListener("click", function () { setElder(!elder()); });
  $("help-btn").addEventListener("click", function () {
    var note = $("help-note");
    Qrate.api("/api/help", {method: "POST", body: {place: T.kioskPlace || ""}})
      .then(function () { note.textContent = T.helpSent; note.classList.remove("bad"); })
      .catch(function () { note.textContent = T.helpFailed; note.classList.add("bad"); })
      .then(function () {
        note.classList.remove("hidden");
        setTimeout(function () { note.classList.add("hidden"); }, 15000);
      });
  });

  function setPriority(on) {
    priority = on ? (priority || "elderly") : null;
    $("priority-bar").classList.toggle("hidden", !on);
    $("priority-btn").classList.toggle("hidden", on);
    var checkin = $("checkin-btn");  // the priority path is a walk-in's: its bar takes the room
    if (checkin) checkin.classList.toggle("hidden", on);
    $("prompt").classList.toggle("hidden", on);
    document.body.classList.toggle("priority-mode", on);
    if (on) setElder(true);  // the priority path starts in elder mode
    renderServices();  // the bar takes room: the cards are laid out again
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
    var left = Q.returnS * (elder() ? 2 : 1);  // slower for an elderly citizen
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
    $("d-where").textContent = s.windows && s.windows.length
      ? fmt(T.windows, {list: s.windows.join(T.sep)}) : T.noWindow;
    $("d-wait").textContent = fmt(T.ahead, {n: t.waiting_ahead}) +
      (s.windows && s.windows.length ? " · " + waitText(t.estimated_wait_s) : "");
    $("d-number").classList.toggle("long", t.number.length > 5);  // AB1000
    $("d-qr").src = Q.qrBase + "?data=" + encodeURIComponent(t.status_url);
    var canPrint = !printer || printer.can_print;
    $("d-print").textContent = canPrint ? T.printing : T.noPaper;
    $("d-print").classList.toggle("bad", !canPrint);
    show("done");
    // the guidance in the citizen's language: English clips when they chose English
    if (elder()) speak("/api/voice/guide/number.wav?number=" + encodeURIComponent(t.number) + (Q.lang === "en" ? "&lang=en" : ""));
    countdown("d-count", home);
  }

  function fail(text) {
    $("e-text").textContent = text;
    show("error");
    clearInterval(returnTimer);
    returnTimer = setTimeout(home, 8000);
  }

  function home() {
    // the next citizen starts in the hall's language, whatever the last one chose
    if (awayFromHome()) { location.href = location.pathname; return; }
    clearInterval(returnTimer);
    clearTimeout(returnTimer);
    setPriority(false);
    document.body.classList.remove("elder");
    $("elder-btn").setAttribute("aria-pressed", "false");
    view = {group: null, page: 0};
    show("start");
    renderServices();
  }
  $("d-ok").addEventListener("click", home);
  $("e-ok").addEventListener("click", home);

  // a citizen who walks away from a category or the priority bar: back to the start
  var away = null;
  function stay() {
    clearTimeout(away);
    away = setTimeout(function () {
      if (!$("start").classList.contains("hidden") && (view.group !== null || priority)) home();
    }, (document.body.classList.contains("elder") ? 90 : 30) * 1000);
  }
  ["click", "touchstart"].forEach(function (ev) { document.addEventListener(ev, stay, true); });

  // an unregistered kiosk says so on its start screen, to staff, before any citizen taps
  if (!Qrate.token) $("token-banner").classList.remove("hidden");
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
      if (e.type === "device.changed") onDevice(e);
    },
  });
  if (awayFromHome()) {  // back to the hall's language when left idle
    var idle = null;
    var poke = function () { clearTimeout(idle); idle = setTimeout(function () { location.href = location.pathname; }, 60000); };
    ["click", "touchstart"].forEach(function (ev) { document.addEventListener(ev, poke, true); });
    poke();
  }
  // opening hours and time-slots end without an event: read the services again each minute
  setInterval(function () {
    if (!connected || busy) return;
    Qrate.api("/api/services").then(function (r) {
      if (r && r.services) { services = r.services; renderServices(); }
    }).catch(function () {});
  }, 60000);
  document.body.dataset.ready = "1";
})();
