/* The dashboard's follow-up (差评回访整改), notice and printing tabs. They only call the
   existing APIs: /api/cases..., /api/ratings, /api/ratings/flags, /api/notice, /api/printer,
   /api/print-jobs, /api/tickets/{id}/reprint; the printer's health is live over Socket.IO. */
(function () {
  "use strict";
  const T = window.QRATE.T;
  const $ = (s) => document.querySelector(s);
  const {DASH, esc} = Qrate;
  const en = Qrate.en;
  // Times show in the hall's clock (its time zone comes with the page), whatever the
  // stamp's own offset: the cases and the printer check carry the hall's, print jobs UTC.
  const hm = (at) => Qrate.dateTime(at);
  const STEPS = ["callback", "verify", "rectify", "reply"];
  const DONE = {callback: "callback_done_at", verify: "verified_at", rectify: "rectified_at", reply: "replied_at"};

  const api = (path, opts) => Qrate.api(path, opts);
  const post = (path, body) => api(path, {method: "POST", body: body || {}});

  function table(el, head, rows, empty) {
    el.innerHTML = "<thead><tr>" + head.map((h) => "<th>" + esc(h) + "</th>").join("") + "</tr></thead><tbody>" +
      (rows.length ? rows.map((r) => "<tr>" + r.map((c) => "<td>" + c + "</td>").join("") + "</tr>").join("")
        : '<tr><td colspan="' + head.length + '" class="muted">' + esc(empty || T.no_data) + "</td></tr>") + "</tbody>";
  }

  // --- follow-up cases -------------------------------------------------------------
  let state = "open", cases = [], selected = null;
  const ratingInfo = {};  // rating id -> {reasons, comment}

  function dueBadge(c, step) {
    const done = c[DONE[step]];
    let cls = "due", tail = hm(c[step + "_due"]);
    if (done) { cls += " done"; tail = T.fu_done + " " + hm(done); }
    else if (c.overdue.includes(step)) { cls += " over"; tail += " " + T.fu_overdue; }
    else if (c.due_soon.includes(step)) { cls += " soon"; tail += " " + T.fu_due_soon; }
    return '<span class="' + cls + '" data-step="' + step + '">' + esc(T["step_" + step] + " " + tail) + "</span>";
  }
  function reasonsText(c) {
    const r = ratingInfo[c.rating];
    if (!r) return "";
    return [r.reasons.map((x) => T.reasons[x] || x).join(en ? ", " : "，"), r.comment].filter(Boolean).join(en ? "; " : "；");
  }
  function statusText(c) {
    let s = T["fu_status_" + c.status] || c.status;
    if (c.appeal_status !== "none") s += " · " + T.fu_appeal + " " + (T["fu_appeal_" + c.appeal_status] || c.appeal_status);
    return s;
  }

  async function loadRatings(list) {
    const days = list.filter((c) => !(c.rating in ratingInfo)).map((c) => c.opened_at.slice(0, 10)).sort();
    if (!days.length) return;
    try {
      const body = await api("/api/ratings?from=" + days[0] + "&to=" + days[days.length - 1]);
      body.ratings.forEach((r) => { ratingInfo[r.id] = {reasons: r.reasons || [], comment: r.comment || ""}; });
    } catch (e) { /* reasons stay blank; the notes still carry them */ }
  }

  async function loadCases() {
    document.querySelectorAll("#fu-states button").forEach((b) => b.classList.toggle("on", b.dataset.state === state));
    const body = await api("/api/cases?state=" + state);
    cases = body.cases;
    await loadRatings(cases);
    const cal = body.calendar || {};
    $("#fu-calendar").textContent = cal.official === false ? T.fu_calendar_missing : "";
    table($("#fu-cases"), [T.fu_ticket, T.window, T.staff, T.service, T.score, T.fu_reasons, T.fu_opened, T.fu_deadlines, T.status],
      cases.map((c) => ['<b>' + esc(c.number || c.case_no || DASH) + "</b>", c.window === null ? DASH : c.window, esc(c.clerk || DASH), esc(c.service || DASH),
        '<span class="bad">' + c.score + "</span>", '<span class="l">' + esc(reasonsText(c)) + "</span>", esc(hm(c.opened_at)),
        '<span class="l">' + STEPS.map((s) => dueBadge(c, s)).join("") + "</span>", esc(statusText(c))]), T.fu_no_cases);
    const rows = document.querySelectorAll("#fu-cases tbody tr");
    cases.forEach((c, i) => {
      rows[i].dataset.case = c.id;
      rows[i].classList.toggle("sel", c.id === selected);
      rows[i].addEventListener("click", () => openCase(c.id));
    });
    if (selected === null) $("#fu-pick").textContent = T.fu_pick;
  }

  function noteForm(cls, label, placeholder, extra) {
    return '<form class="' + cls + '">' + (extra || "") + '<input type="text" name="note" placeholder="' + esc(placeholder) +
      '" maxlength="1000"><button type="submit">' + esc(label) + "</button></form>";
  }

  async function openCase(id) {
    selected = id;
    document.querySelectorAll("#fu-cases tbody tr").forEach((tr) => tr.classList.toggle("sel", Number(tr.dataset.case) === id));
    const c = await api("/api/cases/" + id);
    await loadRatings([c]);
    const el = $("#fu-detail");
    const open = c.status !== "closed";
    const stepOptions = STEPS.filter((s) => !c[DONE[s]]).map((s) =>
      '<option value="' + s + '"' + (s === c.next_step ? " selected" : "") + ">" + esc(T["step_" + s]) + "</option>").join("");
    let html = "<h2>" + esc(T.fu_case + " " + (c.number || c.case_no || "")) + ' <span class="muted">#' + c.id + "</span></h2>" +
      "<dl><dt>" + esc(T.window) + "</dt><dd>" + esc(c.window === null ? DASH : c.window) + " · " + esc(c.clerk || DASH) + " · " + esc(c.service || DASH) + "</dd>" +
      "<dt>" + esc(T.score) + '</dt><dd><span class="bad">' + c.score + "</span> " + esc(reasonsText(c)) + "</dd>" +
      "<dt>" + esc(T.status) + '</dt><dd id="fu-status">' + esc(statusText(c)) + (c.excluded ? ' <span class="flag">' + esc(T.fu_excluded) + "</span>" : "") + "</dd>" +
      "<dt>" + esc(T.fu_owner) + "</dt><dd>" + esc(c.owner || DASH) + "</dd>" +
      "<dt>" + esc(T.fu_deadlines) + '</dt><dd id="fu-steps">' + STEPS.map((s) => dueBadge(c, s)).join("") + "</dd>" +
      (c.rerating_score !== null && c.rerating_score !== undefined ? "<dt>" + esc(T.fu_rerate) + "</dt><dd>" + c.rerating_score + "</dd>" : "") +
      "</dl>";
    if (open && stepOptions) {
      html += noteForm("fu-step", T.fu_mark_done, T.fu_note, '<select name="step">' + stepOptions + "</select>" +
        '<input type="text" name="finding" placeholder="' + esc(T.fu_finding) + '" maxlength="200" hidden>');
    }
    if (c.appeal_status === "pending") {
      html += "<h3>" + esc(T.fu_appeal) + "</h3>" + '<form class="fu-appeal"><input type="text" name="note" placeholder="' + esc(T.fu_reason) +
        '" maxlength="500"><button type="submit" data-uphold="1">' + esc(T.fu_uphold) + '</button><button type="submit" class="ghost" data-uphold="0">' +
        esc(T.fu_reject) + "</button></form>";
    }
    if (c.status === "replied" && (c.rerating_score === null || c.rerating_score === undefined)) {
      html += noteForm("fu-rerate", T.fu_rerate, T.fu_comment, '<select name="score">' + [5, 4, 3, 2, 1].map((n) =>
        '<option value="' + n + '">' + n + " " + esc(T["l" + n]) + "</option>").join("") + "</select>");
    }
    if (open && (c.replied_at || c.appeal_status === "upheld")) html += noteForm("fu-close", T.fu_close, T.fu_note);
    html += noteForm("fu-note", T.fu_add_note, T.fu_note);
    if (open) html += noteForm("fu-owner", T.fu_set_owner, T.fu_owner);
    html += '<p class="error" id="fu-error"></p><h3>' + esc(T.fu_notes) + '</h3><table class="notes" id="fu-notes"></table>';
    el.innerHTML = html;
    table($("#fu-notes"), [T.fu_at, T.fu_author, T.fu_step, T.fu_note],
      (c.notes || []).slice().reverse().map((n) => [esc(hm(n.at)), esc(n.author), esc(T["step_" + n.step] || n.step), '<span class="l">' + esc(n.text) + "</span>"]));
    const stepSel = el.querySelector(".fu-step select");
    if (stepSel) {
      const finding = el.querySelector(".fu-step input[name=finding]");
      const sync = () => { finding.hidden = stepSel.value !== "verify"; };
      stepSel.addEventListener("change", sync); sync();
    }
    const act = (cls, fn) => {
      const f = el.querySelector("form." + cls);
      if (!f) return;
      f.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const note = f.note.value.trim();
        if (!note && cls !== "fu-rerate") { $("#fu-error").textContent = T.fu_note_needed; return; }
        try { await fn(f, note, ev.submitter); await openCase(id); await loadCases(); } catch (e) { $("#fu-error").textContent = e.message; }
      });
    };
    act("fu-step", (f, note) => post("/api/cases/" + id + "/steps/" + f.step.value,
      f.step.value === "verify" ? {note, finding: f.finding.value.trim()} : {note}));
    act("fu-note", (f, note) => post("/api/cases/" + id + "/notes", {text: note}));
    act("fu-owner", (f, note) => post("/api/cases/" + id + "/owner", {owner: note}));
    act("fu-close", (f, note) => post("/api/cases/" + id + "/close", {text: note}));
    act("fu-rerate", (f, note) => post("/api/cases/" + id + "/rerate", {score: Number(f.score.value), comment: note}));
    act("fu-appeal", (f, note, btn) => post("/api/cases/" + id + "/appeal/decision",
      {uphold: !!btn && btn.dataset.uphold === "1", reason: note}));
  }

  async function loadFlags() {
    const body = await api("/api/ratings/flags");
    table($("#fu-flags"), [T.window, T.fu_pattern, T.ratings, T.fu_detail],
      body.flags.map((f) => [f.window, '<span class="flag">' + esc(T["fu_kind_" + f.kind] || f.kind) + "</span>", f.ratings, '<span class="l">' + esc(f.detail) + "</span>"]),
      T.fu_no_flags);
  }

  document.querySelectorAll("#fu-states button").forEach((b) => b.addEventListener("click", () => { state = b.dataset.state; loadCases(); }));

  // --- notice ---------------------------------------------------------------------
  // The tab's read of the notice may answer after the manager began typing, or after a
  // save: it never overwrites the text being typed, nor a newer notice than its own.
  let noticeAsked = 0, noticeTyped = false;
  $("#notice-form").text.addEventListener("input", () => { noticeTyped = true; });
  async function loadNotice() {
    const mine = ++noticeAsked;
    const n = await api("/api/notice");
    if (mine !== noticeAsked) return;
    $("#notice-now").textContent = n.text || T.nt_empty;
    if (!noticeTyped) $("#notice-form").text.value = n.text;
  }
  $("#notice-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const msg = $("#notice-msg");
    try {
      noticeAsked += 1;  // a read still on its way is older than this save
      const r = await api("/api/notice", {method: "PUT", body: {text: ev.target.text.value}});
      noticeTyped = false;
      $("#notice-now").textContent = r.text || T.nt_empty;
      msg.className = "ok-msg"; msg.textContent = T.nt_saved;
    } catch (e) { msg.className = "error"; msg.textContent = e.message; }
  });

  // --- printing -------------------------------------------------------------------
  function showPrinter(p) {
    const cls = p.state === "online" ? "ok" : (p.can_print ? "warn" : "down");
    $("#printer").innerHTML = '<p class="state ' + cls + '" id="printer-state" data-state="' + esc(p.state) + '">' + esc(en ? p.message_en : p.message) + "</p>" +
      (p.detail ? '<p class="muted">' + esc(p.detail) + "</p>" : "") +
      "<dl class=\"row\"><span>" + esc(T.pr_pending) + ": <b>" + esc(p.pending === undefined ? DASH : p.pending) + "</b></span>" +
      "<span>" + esc(T.pr_checked) + ": " + esc(hm(p.checked_at)) + "</span></dl>";
  }
  const numbers = {};  // ticket id -> number
  let jobsTimer = null;
  async function loadJobs() {
    const body = await api("/api/print-jobs");
    const ids = Array.from(new Set(body.jobs.map((j) => j.ticket))).filter((t) => !(t in numbers)).slice(0, 50);
    await Promise.all(ids.map((t) => api("/api/tickets/" + t).then((x) => { numbers[t] = x.number; }, () => { numbers[t] = null; })));
    table($("#print-jobs"), [T.pr_job, T.fu_ticket, T.pr_kind, T.status, T.pr_attempts, T.pr_created, T.pr_printed, T.pr_error, ""],
      body.jobs.map((j) => [j.id, "<b>" + esc(numbers[j.ticket] || "#" + j.ticket) + "</b>", esc(T["pr_k_" + j.kind] || j.kind),
        '<span class="' + (j.status === "printed" ? "good" : "bad") + '">' + esc(T["pr_st_" + j.status] || j.status) + "</span>", j.attempts,
        esc(hm(j.created_at)), esc(hm(j.printed_at)), '<span class="l">' + esc(j.last_error || "") + "</span>",
        '<button type="button" class="reprint" data-ticket="' + j.ticket + '">' + esc(T.pr_reprint) + "</button>"]), T.pr_jobs_none);
    // a waiting job prints in a moment: look again while the tab is open
    if (body.jobs.some((j) => j.status === "pending") && !jobsTimer) {
      jobsTimer = setTimeout(() => {
        jobsTimer = null;
        if (!$("#lobby").hidden) api("/api/printer").then(showPrinter, () => {}).then(loadJobs).catch(() => {});
      }, 2000);
    }
    document.querySelectorAll("#print-jobs button.reprint").forEach((b) => b.addEventListener("click", async () => {
      try {
        await post("/api/tickets/" + b.dataset.ticket + "/reprint");
        $("#jobs-msg").className = "ok-msg"; $("#jobs-msg").textContent = T.pr_queued + (en ? " " : "") + (numbers[b.dataset.ticket] || "");
        await loadJobs();
      } catch (e) { $("#jobs-msg").className = "error"; $("#jobs-msg").textContent = e.message; }
    }));
  }
  async function loadPrinting() {
    try { showPrinter(await api("/api/printer")); } catch (e) { $("#printer").textContent = e.message; }
    await loadJobs();
  }
  // The page's one connection (manage.js opens it after sign-in): printer health, new
  // bad ratings and the notice line arrive on it.
  let socketOn = false;
  function listen() {
    if (socketOn) return;
    socketOn = true;
    let timer = null, casesTimer = null;
    QrateLive.shared().on("event", (e) => {
      if (e && e.type === "device.changed" && e.device === "printer") { showPrinter(e); }
      if (e && e.type === "rating.created" && !$("#followup").hidden && !casesTimer) {  // a new bad rating opens a case
        casesTimer = setTimeout(() => { casesTimer = null; loadCases().catch(() => {}); }, 1000);
      }
      if (e && (e.type === "device.changed" || e.type === "ticket.issued") && !$("#lobby").hidden && !timer) {
        timer = setTimeout(() => { timer = null; loadJobs(); }, 1000);
      }
    }).on("notice", (text) => { $("#notice-now").textContent = text || T.nt_empty; });
  }

  // --- load a tab when manage.js shows it ---------------------------------------------
  const loaders = {
    followup: () => { listen(); return Promise.all([loadCases(), loadFlags()]); },
    lobby: () => { listen(); return Promise.all([loadNotice(), loadPrinting()]); },
  };
  Object.keys(loaders).forEach((id) => {
    const section = document.getElementById(id);
    new MutationObserver(() => { if (!section.hidden) loaders[id]().catch(() => {}); })
      .observe(section, {attributes: true, attributeFilter: ["hidden"]});
  });
})();
