/* The clerk's console: one key per action, every action through /api, the
 * screen redrawn from the Socket.IO snapshot and events. */
(function () {
  "use strict";
  var Q = window.QRATE, T = Q.T;
  var $ = function (id) { return document.getElementById(id); };
  var me = null, N = null, live = null, selected = null, currentDetail = null;

  var fmt = Qrate.fmt;
  function say(text, bad) {
    var m = $("message");
    m.textContent = text;
    m.className = "message " + (bad ? "bad" : "good");
    m.dataset.at = Date.now();
  }
  // the session cookie carries the clerk's token; 204 (nobody waiting) comes back as null
  function api(method, path, body) {
    return Qrate.api("/api" + path, { method: method, body: body });
  }

  /* --- sign in ---------------------------------------------------------- */
  function showSignIn() {
    $("desk").hidden = true;
    $("signin").hidden = false;
    var last = localStorage.getItem("qrate.console.window");
    if (last) $("login-window").value = last;
    $("login-user").focus();
  }
  $("login-form").addEventListener("submit", function (e) {
    e.preventDefault();
    $("login-error").textContent = "";
    var win = parseInt($("login-window").value, 10);
    api("POST", "/login", { user: $("login-user").value.trim(), password: $("login-password").value, window: win })
      .then(function () { localStorage.setItem("qrate.console.window", String(win)); start(); })
      .catch(function (err) { $("login-error").textContent = T.signInFailed + ": " + err.message; });
  });
  $("logout").addEventListener("click", function () {
    api("POST", "/logout").finally(function () { location.reload(); });
  });

  // the clerk's own language: kept with the account, so it follows them to any window
  $("lang-toggle").addEventListener("click", function () {
    api("PUT", "/me/language", { language: $("lang-toggle").dataset.lang })
      .then(function () { location.replace(location.pathname); })
      .catch(function (err) { say(err.message, true); });
  });

  function start() {
    api("GET", "/me").then(function (body) {
      me = body;
      if (me.role !== "clerk" || me.window === null) { showSignIn(); return; }
      // signed in on a page drawn in the hall's language: the clerk's own, if they chose one
      api("GET", "/me/language").then(function (pref) {
        if (pref && pref.language && pref.language !== Q.lang) location.replace(location.pathname);
      }).catch(function () {});
      N = me.window;
      $("signin").hidden = true;
      $("desk").hidden = false;
      $("desk-window").textContent = fmt(T.windowN, { n: N });
      $("desk-clerk").textContent = me.name + " (" + me.subject + ")";
      document.body.dataset.window = N;
      if (!live) live = QrateLive.shared({
        onStatus: function (online) { $("conn-text").textContent = online ? T.online : T.offline; render(); },
        onSnapshot: function () { currentDetail = null; render(); loadToday(); loadHelp(); stillHere(); },
        onEvent: function (ev) {
          if (ev.ticket && currentDetail && ev.ticket.id === currentDetail.id) currentDetail = ev.ticket;
          if (ev.ticket && ev.ticket.status === "called" && ev.ticket.window === N) currentDetail = ev.ticket;
          render();
          if (ev.window === N && /finished|no_show|rating/.test(ev.type)) loadToday();
          if (ev.type === "help.asked" || ev.type === "help.acked") helpCall(ev);
          if (ev.type === "window.changed" && ev.window === N && SIGNED_OUT.indexOf(ev.reason) >= 0) signedOut(ev.reason);
        },
      });
    }).catch(showSignIn);
  }

  // a snapshot (the first, or after a cut) showing this window without this clerk: the
  // sign-in may have ended while the console was not connected, and no event will say so
  // again; the server decides (its answer, not the snapshot, signs the console out)
  function stillHere() {
    var w = myWindow();
    if (!w || !me || (w.clerk && w.clerk.employee_no === me.subject)) return;
    api("GET", "/me").then(function (body) {
      if (!body || body.role !== "clerk" || body.window !== N) signedOut();
    }).catch(function (err) { if (err.status === 401) signedOut(); });
  }

  // this clerk's sign-in here ended from elsewhere (a manager, a take-over, the account
  // disabled, a sign-in at another window): the token no longer acts here, so say so
  var SIGNED_OUT = ["signed_out", "taken_over", "disabled", "password_reset", "moved"];
  function signedOut(reason) {
    showSignIn();
    if (N !== null) $("login-window").value = String(N);  // back at this window, one step less
    // say why: the clerk knows whether to sign in again, use the new password or ask
    $("login-error").textContent = (T.signedOutWhy && T.signedOutWhy[reason]) || T.signedOut;
  }

  /* --- a citizen's call for a helper (POST /api/help): pushed to every console; a console
   * opened later (or back after a cut) lists those still unanswered (GET /api/help): the
   * hall's (a kiosk's) and this window's pad's */
  var helpOpen = {};
  function helpNear(h) { return h.window === null || h.window === undefined || h.window === N; }
  function helpCall(ev) {
    var h = ev.help;
    if (ev.type === "help.asked" && helpNear(h)) helpOpen[h.id] = h; else if (ev.type === "help.acked") delete helpOpen[h.id];
    drawHelp();
  }
  function loadHelp() {
    api("GET", "/help").then(function (body) {
      helpOpen = {};
      (body.calls || []).forEach(function (h) { helpOpen[h.id] = h; });
      drawHelp();
    }).catch(function () {});
  }
  function drawHelp() {
    var ids = Object.keys(helpOpen).sort(function (a, b) { return a - b; });  // the oldest first
    $("help-bar").hidden = !ids.length;
    $("help-bar").dataset.count = ids.length;
    if (!ids.length) return;
    var first = helpOpen[ids[0]];
    var text = fmt(T.helpAsked, { device: first.device || "" });
    if (first.place) text += " (" + first.place + ")";
    if (first.asked_at) text += " · " + fmt(T.waited, { m: minutesSince(first.asked_at) });
    if (ids.length > 1) text += " · " + fmt(T.helpMore, { n: ids.length - 1 });
    $("help-text").textContent = text;
    $("help-ack").onclick = function () {
      api("POST", "/help/" + first.id + "/ack").then(function () { delete helpOpen[first.id]; drawHelp(); })
        .catch(function () {});
    };
  }

  /* --- the state this window cares about -------------------------------- */
  function myWindow() { return live && live.state ? live.state.windows[N] : null; }
  function current() {
    var w = myWindow();
    return w && w.current ? live.state.tickets[w.current.id] || w.current : null;
  }
  function queue() {
    if (!live || !live.state) return [];
    var w = myWindow(), svc = w ? w.services : [];
    return QrateLive.ticketsOf(live.state).filter(function (t) {
      return t.status === "waiting" && (t.target_window === N ||
        (t.target_window === null && svc.indexOf(t.service) >= 0));
    }).sort(function (a, b) {
      if (a.target_window !== b.target_window) return a.target_window === N ? -1 : 1;
      if (a.priority !== b.priority) return a.priority ? -1 : 1;
      var qa = a.queue_at || a.issued_at, qb = b.queue_at || b.issued_at;  // an appointment queues by its slot
      return qa < qb ? -1 : qa > qb ? 1 : a.id - b.id;
    });
  }
  function parked() {
    if (!live || !live.state) return [];
    return QrateLive.ticketsOf(live.state).filter(function (t) { return t.status === "parked" && t.window === N; });
  }
  function recalls() {
    var c = current();
    if (!c) return 0;
    if (currentDetail && currentDetail.id === c.id) return currentDetail.recalls || 0;
    return c.recalls || 0;
  }

  /* --- drawing ---------------------------------------------------------- */
  var SVC = {};
  Q.services.forEach(function (s) { SVC[s.code] = Q.lang === "en" ? s.name_en : s.name; });
  function minutesSince(iso) { return Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 60000)); }
  function render() {
    if (!live || !live.state || N === null) return;
    var w = myWindow(), c = current();
    var online = live.online === true;
    $("window-status").textContent = w ? T[w.status] : "";
    $("window-status").className = "badge " + (w ? w.status : "");
    $("pause-label").textContent = w && w.status === "open" ? T.pause : T.resume;
    $("current-number").textContent = c ? c.number : "—";
    $("current-number").dataset.ticket = c ? c.id : "";
    var info = "";
    if (c) {
      info = [c.service + " " + (SVC[c.service] || ""), c.called_at ? fmt(T.calledAt, { t: Qrate.time(c.called_at) }) : "",
              fmt(T.recalls, { r: recalls() })].filter(Boolean).join(" · ");
      if (!currentDetail || currentDetail.id !== c.id) fetchDetail(c.id);
    }
    $("current-info").textContent = info;
    var q = queue();
    if (selected !== null && !q.some(function (t) { return t.id === selected; })) selected = null;
    $("queue-count").textContent = "(" + q.length + ")";
    var ol = $("queue");
    ol.innerHTML = "";
    q.forEach(function (t) {
      var li = document.createElement("li");
      li.dataset.ticket = t.id;
      if (t.id === selected) li.className = "sel";
      li.innerHTML = '<b></b><span class="svc"></span><span class="tags"></span><span class="wait"></span>';
      li.children[0].textContent = t.number;
      li.children[1].textContent = SVC[t.service] || t.service;
      li.children[2].textContent = [t.priority ? T.priority : "", t.appointment ? T.appt : "",
        t.checked_in === false ? T.notCheckedIn : "", t.target_window === N ? T.forWindow : ""].filter(Boolean).join(" ");
      li.children[3].textContent = fmt(T.waited, { m: minutesSince(t.issued_at) });
      li.addEventListener("click", function () { selected = t.id; render(); });
      ol.appendChild(li);
    });
    var pl = $("parked");
    pl.innerHTML = "";
    parked().forEach(function (t) {
      var li = document.createElement("li");
      li.dataset.ticket = t.id;
      li.innerHTML = "<b></b>";
      li.firstChild.textContent = t.number;
      pl.appendChild(li);
    });
    // what each key may do now
    var busy = !!c, isOpen = w && w.status === "open";
    var enable = {
      next: isOpen && !busy, recall: busy, finish: busy, park: busy, transfer: busy,
      noshow: busy && recalls() >= Q.noShowAfter,
      callback: isOpen && !busy && parked().length > 0,
      callthis: isOpen && !busy && selected !== null,
      pause: !!w && w.status !== "closed",
    };
    document.querySelectorAll("#actions button").forEach(function (b) {
      b.disabled = !online || !enable[b.dataset.act];
    });
    var ns = document.querySelector('[data-act="noshow"]');
    ns.title = fmt(T.noShowLocked, { n: Q.noShowAfter, r: recalls() });
    $("noshow-count").textContent = c ? "(" + Math.min(recalls(), Q.noShowAfter) + "/" + Q.noShowAfter + ")" : "";
  }
  function fetchDetail(id) {
    api("GET", "/tickets/" + id).then(function (t) { currentDetail = t; render(); }).catch(function () {});
  }
  setInterval(render, 30000);  // the waited minutes

  function loadToday() {
    api("GET", "/me/today").then(function (d) {
      var dl = $("today");
      var mins = function (s) { return Qrate.isNull(s) ? Qrate.DASH : fmt(T.min, { m: Qrate.minutes(s) }); };
      var rows = [
        [T.served, d.served], [T.noShows, d.no_show],
        [T.meanService, mins(d.service_s.mean)],
        [T.p50Service, mins(d.service_s.p50)],
        [T.ratings, d.ratings], [T.meanScore, Qrate.num(d.mean_score, 2)],
        [T.satisfied, Qrate.pct(d.satisfied_rate)],
      ];
      dl.innerHTML = "";
      rows.forEach(function (row) {
        var dt = document.createElement("dt"), dd = document.createElement("dd");
        dt.textContent = row[0]; dd.textContent = row[1];
        dl.appendChild(dt); dl.appendChild(dd);
      });
    }).catch(function () {});
  }

  /* --- actions ---------------------------------------------------------- */
  function fail(err) { say(err.message, true); }
  function number(t) { return t ? t.number : ""; }
  var actions = {
    next: function () {
      api("POST", "/windows/" + N + "/call-next").then(function (t) {
        if (t === null) say(T.nobody, true); else { currentDetail = t; say(fmt(T.called, { number: t.number })); }
      }).catch(fail);
    },
    recall: function (c) {
      api("POST", "/tickets/" + c.id + "/recall").then(function (t) {
        currentDetail = t; say(fmt(T.recalled, { number: t.number })); render();
      }).catch(fail);
    },
    noshow: function (c) {
      api("POST", "/tickets/" + c.id + "/no-show").then(function (t) { say(fmt(T.noShowed, { number: t.number })); }).catch(fail);
    },
    finish: function (c) {
      api("POST", "/tickets/" + c.id + "/finish").then(function (t) { say(fmt(T.finished, { number: t.number })); }).catch(fail);
    },
    park: function (c) { openDialog("dlg-park", c, "park-note"); },
    transfer: function (c) { openDialog("dlg-transfer", c, "transfer-service"); },
    callthis: function () {
      var t = live.state.tickets[selected];
      openDialog("dlg-callthis", t, "callthis-reason");
    },
    callback: function () {
      var sel = $("callback-ticket");
      sel.innerHTML = "";
      parked().forEach(function (t) {
        var o = document.createElement("option"); o.value = t.id; o.textContent = t.number; sel.appendChild(o);
      });
      sel.selectedIndex = 0;
      openDialog("dlg-callback", null, "callback-ticket");
    },
    pause: function () {
      var w = myWindow();
      var path = "/windows/" + N + (w.status === "open" ? "/pause" : "/resume");
      api("POST", path, w.status === "open" ? { reason: "" } : undefined).then(function (view) {
        say(view.status === "paused" ? T.pausedMsg : T.resumedMsg);
      }).catch(fail);
    },
  };
  function run(act) {
    var btn = document.querySelector('#actions [data-act="' + act + '"]');
    if (!btn || btn.disabled) {
      if (act === "noshow" && current()) say(btn.title, true);
      else if (act === "callthis" && selected === null) say(T.noneSelected, true);
      else if (act === "callback" && !parked().length) say(T.noneParked, true);
      else if ((act === "recall" || act === "finish") && !current()) say(T.noCurrent, true);
      return;
    }
    actions[act](current());
  }
  document.querySelectorAll("#actions button").forEach(function (b) {
    b.addEventListener("click", function () { run(b.dataset.act); });
  });

  /* --- dialogs ---------------------------------------------------------- */
  var dialogTicket = null;
  function openDialog(id, t, focusId) {
    dialogTicket = t;
    var d = $(id);
    d.querySelectorAll(".dlg-number").forEach(function (s) { s.textContent = number(t); });
    d.querySelectorAll("input[type=text], input:not([type])").forEach(function (i) { i.value = ""; });
    d.showModal();
    $(focusId).focus();
  }
  document.querySelectorAll("dialog [data-close]").forEach(function (b) {
    b.addEventListener("click", function () { b.closest("dialog").close(); });
  });
  $("form-transfer").addEventListener("submit", function (e) {
    e.preventDefault();
    var to = this.querySelector("input[name=to]:checked").value;
    var body = { note: $("transfer-note").value };
    if (to === "service") body.service = $("transfer-service").value; else body.window = parseInt($("transfer-window").value, 10);
    $("dlg-transfer").close();
    api("POST", "/tickets/" + dialogTicket.id + "/transfer", body)
      .then(function (t) { say(fmt(T.transferred, { number: t.number })); }).catch(fail);
  });
  $("form-park").addEventListener("submit", function (e) {
    e.preventDefault();
    $("dlg-park").close();
    api("POST", "/tickets/" + dialogTicket.id + "/park", { note: $("park-note").value })
      .then(function (t) { say(fmt(T.parkedMsg, { number: t.number })); }).catch(fail);
  });
  $("form-callthis").addEventListener("submit", function (e) {
    e.preventDefault();
    var reason = $("callthis-reason").value.trim();
    if (!reason) { $("callthis-reason").focus(); return; }
    $("dlg-callthis").close();
    api("POST", "/windows/" + N + "/call", { ticket: dialogTicket.id, reason: reason })
      .then(function (t) { currentDetail = t; selected = null; say(fmt(T.called, { number: t.number })); }).catch(fail);
  });
  $("form-callback").addEventListener("submit", function (e) {
    e.preventDefault();
    var id = parseInt($("callback-ticket").value, 10);
    $("dlg-callback").close();
    if (!id) return;
    api("POST", "/windows/" + N + "/call", { ticket: id, reason: "callback" })
      .then(function (t) { currentDetail = t; say(fmt(T.called, { number: t.number })); }).catch(fail);
  });
  $("callback-ticket").addEventListener("keydown", function (e) {
    if (e.key === "Enter") { e.preventDefault(); $("form-callback").requestSubmit(); }
  });

  /* --- keys ------------------------------------------------------------- */
  var KEYS = {};
  document.querySelectorAll("#actions button").forEach(function (b) { KEYS[b.dataset.key] = b.dataset.act; });
  document.addEventListener("keydown", function (e) {
    if (document.querySelector("dialog[open]") || $("desk").hidden) return;
    if (/^(INPUT|SELECT|TEXTAREA)$/.test(e.target.tagName)) return;
    if (e.ctrlKey || e.altKey || e.metaKey) return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      var q = queue();
      if (!q.length) return;
      var i = q.findIndex(function (t) { return t.id === selected; });
      i = e.key === "ArrowDown" ? Math.min(q.length - 1, i + 1) : Math.max(0, i < 0 ? 0 : i - 1);
      selected = q[i].id;
      e.preventDefault();
      render();
      return;
    }
    var act = KEYS[e.key.toLowerCase()];
    if (act) { e.preventDefault(); run(act); }
  });

  start();
})();
