/* The lobby screen: latest calls, queues per service, the promise kept,
 * rotating clerk panels, the notice line and the voice calls. */
(function () {
  "use strict";
  var Q = window.QRATE, T = Q.T;
  var $ = function (id) { return document.getElementById(id); };
  var stage = $("stage");

  function fit() {  // design at 1920x1080, scale to the real screen
    var k = Math.min(innerWidth / 1920, innerHeight / 1080);
    stage.style.transform = "scale(" + k + ")";
  }
  addEventListener("resize", fit);
  fit();
  Qrate.clock($("clock"));  // the hall's time, whatever time zone the screen's PC was set to
  Qrate.token = Qrate.deviceToken();

  var fmt = Qrate.fmt;
  // the window's own name (as the hall's settings give it); in English the number first
  function windowLabel(n) {
    var w = live && live.state ? live.state.windows[n] : null;
    var plain = fmt(T.windowN, { n: n });
    if (!w || !w.name || w.name === n + "号窗口") return plain;
    return Q.lang === "en" ? plain + " · " + w.name : w.name;
  }
  // a rate as the number in "%(p)s%%": one decimal, as everywhere else
  function pct(x) { return Qrate.num(100 * x, 1); }
  function waitText(s) {
    var m = Qrate.wholeMinutes(s);
    return m === null ? Qrate.DASH : m < 1 ? T.lt1min : fmt(T.minutes, { n: m });
  }

  var board = null;   // /api/display/board: promise kept today, satisfaction this month
  var live;

  /* --- the calls ------------------------------------------------------- */
  function renderCalls(st) {
    // distinct tickets, newest call first
    var seen = {}, calls = [];
    st.calls.forEach(function (c) {
      if (!seen[c.ticket]) { seen[c.ticket] = true; calls.push(c); }
    });
    var newest = calls[0];
    var box = $("newest");
    box.classList.toggle("empty", !newest);
    $("newest-number").textContent = newest ? newest.number : "—";
    if (newest) apptBadge($("newest-number"), st.tickets[newest.ticket] || newest);
    $("newest-window").textContent = newest ? windowLabel(newest.window) : "";
    box.dataset.seq = newest ? newest.seq : "";
    // a long window name must shrink to the card, never be cut off
    var fitEl = $("newest-fit");
    fitEl.style.transform = "";
    var k = Math.min(1, (box.clientWidth - 24) / Math.max(1, fitEl.scrollWidth));
    fitEl.style.transform = "scale(" + k + ")";
    var ol = $("recent");
    ol.innerHTML = "";
    calls.slice(1, 4).forEach(function (c) {
      var li = document.createElement("li");
      var t = st.tickets[c.ticket];
      if (!t || t.status !== "called") li.className = "gone";
      li.innerHTML = '<span class="num"></span><span class="win"></span>';
      li.firstChild.textContent = c.number;
      apptBadge(li.firstChild, t || c);  // a call whose ticket has left the queue keeps its 约
      li.lastChild.textContent = windowLabel(c.window);
      ol.appendChild(li);
    });
  }

  // an appointment's ticket carries 约 beside its number (docs/appointments.md)
  function apptBadge(el, t) {
    if (!t || !t.appointment) return;
    var b = document.createElement("sup");
    b.className = "appt";
    b.textContent = T.appt;
    b.style.cssText = "font-size:.38em;background:#1d5fd1;color:#fff;border-radius:999px;padding:.05em .3em;margin-left:.15em;vertical-align:super";
    el.appendChild(b);
  }

  function flashNewest() {
    var box = $("newest");
    box.classList.remove("flash");
    void box.offsetWidth;  // restart the animation
    box.classList.add("flash");
  }

  /* --- queues per service --------------------------------------------- */
  // A big hall's services do not fit one column: they are shown a page at a time, a
  // category (or a part of one) per page, turning every Q.rotateS seconds; every
  // service comes round once per turn of the pages. The calls are never covered.
  // A row is three lines (name and count, the estimate, the promise: ROW_FULL px) when
  // every service fits so; two lines (no promise) when only that fits one column; else pages.
  var ROW_MIN = 104, ROW_FULL = 140, svcPage = 0, svcPages = [], svcTimer = null;
  function pagesOf(st) {
    var ul = $("services");
    ul.classList.remove("paged");
    var room = ul.clientHeight || 640;
    var all = st.services;
    if (all.length * ROW_FULL <= room) return [{ title: "", items: all }];
    ul.classList.add("paged");
    if (all.length * ROW_MIN <= room) return [{ title: "", items: all }];
    var per = Math.max(1, Math.floor((room - 64) / ROW_MIN));  // the group's title takes a row
    var groups = [], by = {};
    all.forEach(function (s) {
      var key = s.category || "";
      if (!(key in by)) {
        by[key] = { title: Q.lang === "en" ? (s.category_en || key) : key, items: [] };
        groups.push(by[key]);
      }
      by[key].items.push(s);
    });
    var out = [];
    groups.forEach(function (g) {
      for (var i = 0; i < g.items.length; i += per) out.push({ title: g.title, items: g.items.slice(i, i + per) });
    });
    return out;
  }
  function renderServices(st) {
    var ul = $("services");
    svcPages = pagesOf(st);
    if (svcPage >= svcPages.length) svcPage = 0;
    var pg = svcPages[svcPage];
    var head = $("svc-group");
    head.hidden = svcPages.length < 2;
    if (svcPages.length > 1) {
      head.children[0].textContent = pg.title || T.otherServices;
      head.children[1].textContent = fmt(T.pageOf, { p: svcPage + 1, n: svcPages.length });
    }
    ul.innerHTML = "";
    ul.dataset.page = String(svcPage);
    var kept = {};
    if (board) board.services.forEach(function (s) { kept[s.code] = s; });
    var rowH = svcPages.length > 1 ? ROW_MIN
      : Math.min(126, Math.floor((ul.clientHeight || 640) / Math.max(1, pg.items.length)));
    pg.items.forEach(function (s) {
      var li = document.createElement("li");
      li.style.minHeight = rowH + "px";
      if (svcPages.length > 1) li.style.height = rowH + "px";
      if (!s.open) li.classList.add("closed");
      var est = Qrate.isNull(s.estimated_wait_s) ? T.noEstimate : waitText(s.estimated_wait_s);
      var k = kept[s.code];
      var promise = fmt(T.promise, { n: Math.round(s.target_wait_s / 60) }) + " · " +
        (k && k.kept_rate !== null ? fmt(T.kept, { p: pct(k.kept_rate) }) : T.keptNone);
      li.innerHTML = '<span class="code"></span><span class="name"></span><span class="count"></span>' +
        '<span class="est"></span><span class="promise"></span>';
      li.children[0].textContent = s.code;
      if (s.code.length > 1) li.children[0].classList.add("two");
      li.children[1].textContent = Q.lang === "en" ? s.name_en : s.name;
      li.children[2].textContent = fmt(T.waitingN, { n: s.waiting });
      li.children[3].textContent = !s.open ? T.notIssuing
        : (!s.windows || !s.windows.length) ? T.noWindow : fmt(T.estimate, { t: est });
      li.children[4].textContent = promise;
      if (k && k.kept_rate !== null && k.kept_rate < 0.8) li.children[4].classList.add("low");
      li.dataset.code = s.code;
      ul.appendChild(li);
    });
    window.qrateLobbyPages = svcPages.map(function (p) { return p.items.map(function (s) { return s.code; }); });
    clearTimeout(svcTimer);
    if (svcPages.length > 1) {
      svcTimer = setTimeout(function () {
        svcPage = (svcPage + 1) % svcPages.length;
        if (live && live.state) renderServices(live.state);
      }, (Q.rotateS || 8) * 1000);
    }
  }

  /* --- rotating panels: each window's clerk, commitment, satisfaction (阳光政务) */
  var panelIndex = 0, pledgeTimer = null;
  function panels() {
    if (!live || !live.state) return [];
    var st = live.state, out = [];
    var staff = {}, wins = {};
    if (board) {
      board.staff.forEach(function (p) { staff[p.employee_no] = p; });
      board.windows.forEach(function (w) { wins[w.number] = w; });
    }
    Object.keys(st.windows).forEach(function (n) {
      var w = st.windows[n];
      if (!w.clerk) return;
      var p = staff[w.clerk.employee_no] || {};
      var m = p.month || (wins[n] || {}).month;
      out.push({ window: w.number, name: w.clerk.name, status: w.status, staff: w.clerk.employee_no,
                 commitment: (Q.lang === "en" && p.commitment_en) || w.clerk.commitment || p.commitment || "",
                 month: m });
    });
    return out;
  }
  function rotatePanel() {
    var list = panels(), el = $("panel");
    if (!list.length) { el.innerHTML = '<div class="kicker"></div><div class="commit"></div>';
      el.firstChild.textContent = T.sunshine; el.lastChild.textContent = live && live.state ? live.state.hall.name : "";
      return; }
    var p = list[panelIndex++ % list.length];
    el.innerHTML = '<div class="who"><span class="kicker"></span><span class="name"></span><span class="sat"></span></div><div class="commit"></div>';
    var who = el.children[0];
    who.children[0].textContent = T.sunshine;
    who.children[1].textContent = windowLabel(p.window) + " · " + p.name +
      (p.status === "paused" ? " (" + T.paused + ")" : "");
    el.children[1].textContent = p.commitment;
    el.classList.remove("show-pledge");   // 公开承诺 with progress, in the commitment's line after 4 s
    if (window.QratePledge) QratePledge.fill(el, p.staff, Q.lang === "en", el.children[1]);
    clearTimeout(pledgeTimer);
    pledgeTimer = setTimeout(function () { if (el.querySelector(".pledge")) el.classList.add("show-pledge"); }, 4000);
    who.children[2].textContent = p.month && p.month.ratings && !Qrate.isNull(p.month.satisfied_rate)
      ? fmt(T.satisfied, { p: pct(p.month.satisfied_rate), n: p.month.ratings }) : T.noRatings;
  }
  setInterval(rotatePanel, 8000);

  /* --- notice line ----------------------------------------------------- */
  function renderNotice(text) {
    var el = $("notice");
    if (el.textContent === (text || "")) return;
    el.textContent = text || "";
    var track = el.parentNode;
    track.classList.toggle("empty", !text);
    // about 150 px/s whatever the length
    track.style.setProperty("--notice-s", Math.max(12, (1920 + el.offsetWidth) / 150) + "s");
  }

  /* --- board figures (refreshed after calls and ratings, and each minute) */
  var boardTimer = null;
  function loadBoard() {
    boardTimer = null;
    Qrate.api("/api/display/board")
      .then(function (b) { if (b) { board = b; if (live.state) renderServices(live.state); } })
      .catch(function () {});
  }
  function boardSoon() { if (!boardTimer) boardTimer = setTimeout(loadBoard, 1500); }
  setInterval(loadBoard, 60000);

  /* --- voice calls: one at a time, in order ----------------------------- */
  var audio = $("voice");
  var voice = { queue: [], current: null, log: [] };
  window.qrateVoice = voice;  // read by tests and by hall IT from the console
  function enqueueVoice(call) {
    if (!Q.voice) return;
    voice.queue.push({ number: call.number, window: call.window, seq: call.seq,
                       type: call.type, queued: performance.now() });
    pump();
  }
  function pump() {
    if (voice.current || !voice.queue.length) return;
    var c = voice.current = voice.queue.shift();
    c.url = "/api/voice/call/" + encodeURIComponent(c.number) + "/" + c.window + ".wav";
    voice.log.push(c);
    var finished = false;
    function done(how) {
      if (finished) return;
      finished = true;
      c.ended = performance.now();
      c.how = how;
      clearTimeout(guard);
      voice.current = null;
      setTimeout(pump, 400);  // a breath between calls
    }
    var guard = setTimeout(function () { done("timeout"); }, 25000);
    audio.onended = function () { done("ended"); };
    audio.onerror = function () { done("error"); };
    audio.src = c.url;
    var p = audio.play();
    if (p && p.then) {
      p.then(function () { c.started = performance.now(); $("sound-hint").hidden = true; })
       .catch(function (err) {
         if (err && err.name === "NotAllowedError") { $("sound-hint").hidden = false; }
         done("refused");
       });
    }
  }
  document.addEventListener("click", function () {
    $("sound-hint").hidden = true;
    audio.muted = false;
  });

  /* --- printer alert: citizens learn at once that no paper ticket comes out -- */
  function renderPrinter(printer) {
    var el = $("printer-alert");
    if (!printer || printer.can_print !== false) { el.classList.add("hidden"); el.textContent = ""; return; }
    el.textContent = (Q.lang === "en" ? printer.message_en : printer.message) + " · " + T.printerHint;
    el.classList.remove("hidden");
  }

  function renderVoice(voice) {
    var el = $("voice-alert");
    if (!el) return;
    var off = !!(voice && voice.available === false);
    el.textContent = off ? T.voiceOff : "";
    el.classList.toggle("hidden", !off);
  }

  /* --- live state ------------------------------------------------------ */
  live = QrateLive.shared({
    onStatus: function (online) {
      $("conn-text").textContent = online ? T.online : T.offline;
    },
    onSnapshot: function (st, before) {
      $("hall-name").textContent = Q.lang === "en" ? (st.hall.name_en || st.hall.name) : st.hall.name;
      renderCalls(st);
      renderServices(st);
      renderNotice(st.hall.notice);
      renderPrinter((st.devices || {}).printer);
      renderVoice(st.voice);
      rotatePanel();
      loadBoard();
      // calls made while this screen was cut off: still announce the recent ones
      if (before !== null) {
        var missed = st.calls.filter(function (c) {
          return c.seq > before && (Date.now() - Date.parse(c.at)) < 120000;
        }).reverse();
        missed.forEach(enqueueVoice);
        if (missed.length) flashNewest();
      }
    },
    onEvent: function (ev, st) {
      if (ev.services) renderServices(st);
      if (ev.ticket || ev.window_state || ev.type === "config.changed") renderCalls(st);
      if (ev.type === "config.changed") {
        $("hall-name").textContent = Q.lang === "en" ? (st.hall.name_en || st.hall.name) : st.hall.name;
        boardSoon();
      }
      if (ev.type === "ticket.called" || ev.type === "ticket.recalled") {
        flashNewest();
        enqueueVoice(st.calls[0]);
        boardSoon();
      }
      if (ev.type === "rating.created" || ev.type === "window.changed") boardSoon();
      if (ev.type === "device.changed" && ev.device === "printer") renderPrinter(ev);
    },
    onNotice: renderNotice,
  });
})();
