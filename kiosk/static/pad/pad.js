/* The rating pad: idle shows the clerk and this month's satisfaction; a finish at
   this window asks for a rating; no answer before the timer runs out records nothing. */
(function () {
  "use strict";
  const W = window.QRATE.window, T = window.QRATE.T;
  const $ = (id) => document.getElementById(id);
  const screens = ["idle", "ask", "dims", "reasons", "thanks"];
  let state = null, asking = null, score = null, timer = null, promptSeconds = 60, dims = {}, ticketDims = false;
  window.__asks = [];  // {ticket, number, at}: when each question was painted (bench)

  function show(name) {
    state = name;
    document.body.dataset.state = name;
    for (const s of screens) $(s).hidden = s !== name;
  }

  function startTimer(seconds, bar, onEnd) {
    clearTimeout(timer);
    const el = $(bar);
    el.style.transition = "none";
    el.style.width = "100%";
    void el.offsetWidth;
    el.style.transition = `width ${seconds}s linear`;
    el.style.width = "0%";
    // the level screen (and the reasons) time out to nothing; the optional sub-scores
    // time out to the level already given (onEnd)
    timer = setTimeout(onEnd || (() => { asking = null; toIdle(); }), seconds * 1000);
  }

  // a citizen's English lasts for that citizen: the pad goes back to the hall's language
  const away = () => (window.QRATE.lang === "en") !== (window.QRATE.hallLang === "en");
  let awayTimer = null;
  function toIdle() {
    clearTimeout(timer);
    asking = null;
    score = null;
    dims = {};
    if (away() && state !== null) { location.href = location.pathname; return; }
    show("idle");
    clearTimeout(awayTimer);
    if (away()) awayTimer = setTimeout(() => { if (state === "idle") location.href = location.pathname; }, 30000);
  }

  function key(p) { return p.request ? `r${p.request}` : `t${p.ticket}`; }

  function render(st) {
    promptSeconds = st.prompt_seconds;
    $("window-name").textContent = st.window.name;
    if (st.clerk) {
      $("clerk-name").textContent = st.clerk.name;
      $("clerk-no").textContent = st.clerk.employee_no;
      $("commitment").textContent = (Qrate.en && st.clerk.commitment_en) || st.clerk.commitment || "—";
      if (window.QratePledge) QratePledge.fill($("commitment").parentNode, st.clerk.employee_no, Qrate.en, $("commitment"));
      if ($("photo").getAttribute("src") !== st.clerk.photo_url) $("photo").src = st.clerk.photo_url;
      $("photo").hidden = false;
    } else {
      $("clerk-name").textContent = T.nobody;
      $("clerk-no").textContent = "—";
      $("commitment").textContent = "—";
      $("photo").hidden = true;
    }
    $("closed-note").hidden = st.window.status === "open";
    const s = st.satisfaction;
    $("sat-rate").textContent = Qrate.pct(s.satisfied_rate);
    $("good-rate").textContent = Qrate.pct(s.good_rate);
    $("mean-score").textContent = Qrate.num(s.mean_score, 2);
    $("sat-count").textContent = s.ratings ? Qrate.fmt(T.percent_of, {n: s.ratings}) : T.no_ratings;
    ticketDims = window.__ticketDims = !!st.ticket_dimensions;  // [ratings] ticket_dimensions
    const rows = $("dim-rows");
    if (!rows.childElementCount) {
      for (const d of st.dimensions || []) {
        const row = document.createElement("div");
        row.className = "dim";
        row.dataset.dim = d.code;
        const label = document.createElement("span");
        label.textContent = d.label;
        row.appendChild(label);
        for (const n of [5, 4, 3, 2, 1]) {
          const b = document.createElement("button");
          b.className = "dlevel";
          b.dataset.level = n;  // not data-score: that is the overall level's buttons
          b.textContent = T.levels[n];
          b.addEventListener("click", () => pickDim(d.code, n, row, b));
          row.appendChild(b);
        }
        rows.appendChild(row);
      }
    }
    const tags = $("reason-tags");
    if (!tags.childElementCount) {
      for (const r of st.reasons) {
        const b = document.createElement("button");
        b.className = "tag";
        b.dataset.reason = r.code;
        b.textContent = r.label;
        b.addEventListener("click", () => { b.classList.toggle("on"); startTimer(promptSeconds, "timer-bar2"); });
        tags.appendChild(b);
      }
    }
  }

  async function refresh() {
    let st;
    try { st = await Qrate.api("/api/pad/state"); } catch (e) { return; }
    render(st);
    if (st.pending && (!asking || asking.key !== key(st.pending))) {
      ask(st.pending.ticket, st.pending.number, st.pending.expires_in_s, st.pending);
    } else if (!st.pending && state === null) {
      toIdle();
    } else if (state === null) {
      toIdle();
    }
  }

  function ask(ticket, number, seconds, pending) {
    const p = pending || {ticket};
    asking = {ticket, number, request: p.request || null, key: key(p), caseNo: p.case_no || null};
    score = null;
    dims = {};
    for (const b of document.querySelectorAll(".dlevel.on")) b.classList.remove("on");
    $("ask-number").textContent = number || "—";
    $("ask-ticket").hidden = !number;
    $("ask-case").hidden = !p.case_no;
    $("case-no").textContent = p.case_no || "";
    $("matter-name").textContent = p.matter_name || "";
    $("comment").value = "";
    $("phone").value = "";
    $("phone-error").hidden = true;
    for (const b of document.querySelectorAll(".tag.on")) b.classList.remove("on");
    show("ask");
    startTimer(seconds || promptSeconds, "timer-bar");
    requestAnimationFrame(() => window.__asks.push({ticket, number, at: performance.timeOrigin + performance.now()}));
  }

  async function submit(reasons, comment, phone) {
    if (!asking) return;
    const body = {ticket: asking.ticket, score, reasons, comment};
    if (phone) body.phone = phone;
    if (asking.request) body.request = asking.request;
    if (Object.keys(dims).length) body.dimensions = dims;
    asking = null;
    clearTimeout(timer);
    let ok = false, message = T.refused;
    try {
      await Qrate.api("/api/ratings", {method: "POST", body});
      ok = true;
    } catch (e) { if (e.code) message = e.message; /* offline: nothing recorded, say so */ }
    $("thanks").classList.toggle("failed", !ok);
    $("thanks-title").hidden = !ok;
    // promise a call only when the citizen left a number to call
    const said = score <= 2 ? (phone ? T.willCall : T.noCall) : $("thanks-text").dataset.ok;
    $("thanks-text").textContent = ok ? said : message;
    show("thanks");
    timer = setTimeout(toIdle, ok ? 4000 : 5000);
  }
  $("thanks-text").dataset.ok = $("thanks-text").textContent;

  for (const b of document.querySelectorAll(".level")) {
    b.addEventListener("click", () => {
      if (!asking) return;
      score = Number(b.dataset.score);
      if ((asking.caseNo || ticketDims) && $("dim-rows").childElementCount) {
        show("dims");  // a case (一次一评), or a ticket where the hall asks: the optional sub-scores
        startTimer(promptSeconds, "timer-bar3", afterDims);
      } else {
        afterDims();
      }
    });
  }

  function afterDims() {
    if (score <= 2) {
      show("reasons");
      startTimer(promptSeconds, "timer-bar2");
    } else {
      submit([], "");
    }
  }

  function pickDim(code, n, row, button) {
    dims[code] = n;
    for (const b of row.querySelectorAll(".dlevel")) b.classList.toggle("on", b === button);
    if (Object.keys(dims).length === $("dim-rows").childElementCount) {
      setTimeout(afterDims, 250);  // all three given: on at once
    } else {
      startTimer(promptSeconds, "timer-bar3", afterDims);
    }
  }
  $("skip-dims").addEventListener("click", () => { dims = {}; afterDims(); });
  $("submit-low").addEventListener("click", () => {
    const reasons = [...document.querySelectorAll(".tag.on")].map((b) => b.dataset.reason);
    const phone = $("phone").value.replace(/[\s]/g, "");
    if (phone && !/^(1\d{10}|0\d{2,3}-?\d{7,8})$/.test(phone)) {
      $("phone-error").textContent = T.badPhone;
      $("phone-error").hidden = false;
      startTimer(promptSeconds, "timer-bar2");
      return;
    }
    submit(reasons, $("comment").value.trim(), phone);
  });
  $("comment").addEventListener("input", () => startTimer(promptSeconds, "timer-bar2"));
  $("phone").addEventListener("input", () => { $("phone-error").hidden = true; startTimer(promptSeconds, "timer-bar2"); });

  new QrateLive({
    onStatus: (online) => { $("conn").hidden = online; },
    onSnapshot: () => { refresh(); },
    onEvent: (ev) => {
      if (ev.type === "config.changed" && state === "idle") { refresh(); return; }  // e.g. ticket_dimensions
      if (ev.window !== W) return;
      if (ev.type === "ticket.finished" && ev.ticket) {
        ask(ev.ticket.id, ev.ticket.number);
      } else if (ev.type === "rating.requested") {
        refresh();  // the case's number and matter come with the pad's own state
      } else if (ev.type === "rating.created") {
        if (asking && ((ev.request && asking.request === ev.request)
                       || (ev.number && asking.number === ev.number))) toIdle();  // rated on another device
        if (state === "idle") refresh();
        else setTimeout(refresh, 4500);
      } else if (ev.type === "window.changed") {
        refresh();
      }
    },
  });
})();
