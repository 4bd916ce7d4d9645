/* The managers' dashboard: reads /api/stats/..., listens on Socket.IO. No figures are computed here. */
(function () {
  "use strict";
  const T = window.QRATE.T;
  const $ = (s) => document.querySelector(s);
  const charts = {};
  const {DASH, esc, pct, num} = Qrate;
  const fmtHours = (s) => Qrate.hours(s);
  const fmtMin = (s) => Qrate.minutes(s);
  const api = (path, opts) => Qrate.api(path, opts);  // the session cookie carries the manager's token

  function table(el, head, rows) {
    el.innerHTML = "<thead><tr>" + head.map((h) => "<th>" + esc(h) + "</th>").join("") + "</tr></thead><tbody>" +
      (rows.length ? rows.map((r) => "<tr>" + r.map((c) => "<td>" + c + "</td>").join("") + "</tr>").join("")
        : '<tr><td colspan="' + head.length + '" class="muted">' + esc(T.no_data) + "</td></tr>") + "</tbody>";
  }

  function chart(id, config) {
    if (charts[id]) charts[id].destroy();
    config.options = Object.assign({animation: false, responsive: true, maintainAspectRatio: true}, config.options || {});
    charts[id] = new Chart(document.getElementById(id), config);
  }

  const flagText = (flags) => (flags || []).map((f) => '<span class="flag">' + esc(T[f] || f) + "</span>").join("");

  // --- sign in -----------------------------------------------------------------
  async function start() {
    let me = null;
    try { me = await api("/api/me"); } catch (e) { me = null; }
    if (!me || (me.role !== "manager" && me.role !== "admin")) {
      $("#login").hidden = false;
      if (me) $("#login-error").textContent = T.not_manager;
      return;
    }
    $("#tabs").hidden = false;
    $("#logout").hidden = false;
    window.addEventListener("hashchange", show);
    try { await live(); } catch (e) { /* shown empty; the next push retries */ }
    show();
    connect();
  }

  $("#login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    try {
      const r = await api("/api/login", {method: "POST", body: {user: f.get("user"), password: f.get("password")}});
      if (r.role !== "manager" && r.role !== "admin") { $("#login-error").textContent = T.not_manager; return; }
      location.reload();
    } catch (e) { $("#login-error").textContent = e.message || T.bad_login; }
  });
  $("#logout").addEventListener("click", async () => { try { await api("/api/logout", {method: "POST"}); } finally { location.reload(); } });

  const loaded = {};
  function show() {
    const tab = (location.hash || "#live").slice(1);
    document.querySelectorAll(".tab").forEach((s) => { s.hidden = s.id !== tab; });
    document.querySelectorAll("#tabs a[data-tab]").forEach((a) => a.classList.toggle("on", a.dataset.tab === tab));
    if (!loaded[tab]) {
      loaded[tab] = true;
      if (tab === "history") history();
      if (tab === "assess") assess();
      if (tab === "settings") settings();
    }
  }

  // --- today, live ---------------------------------------------------------------
  let liveTimer = null;
  let hallDay = Qrate.day();  // the hall's day (its time zone); the server's word replaces it
  const shift = Qrate.shiftDay;
  async function live() {
    const now = await api("/api/stats/live");
    hallDay = now.day;
    const today = await api("/api/stats/days?from=" + now.day + "&to=" + now.day);
    const d = today.rows[0] || {};
    const waiting = now.services.reduce((a, s) => a + s.waiting, 0);
    // nobody waiting: no longest wait ("—"), not a wait of 0
    const waits = now.services.map((s) => s.longest_wait_s).filter((s) => !Qrate.isNull(s));
    const longest = waits.length ? Math.max(...waits) : null;
    $("#live-cards").innerHTML = [
      [T.waiting, waiting], [T.longest, longest === null ? DASH : fmtMin(longest) + " " + T.minutes],
      [T.open, now.windows_open + " / " + now.windows], [T.served_today, d.served || 0],
      [T.good_today, pct(d.good_rate)]].map((c) => '<div class="card"><span class="muted">' + esc(c[0]) + "</span><b>" + esc(c[1]) + "</b></div>").join("");
    table($("#live-services"), [T.service, T.waiting, T.longest + " (" + T.minutes + ")"],
      now.services.map((s) => [esc(s.service + " " + s.name), s.waiting, fmtMin(s.longest_wait_s)]));
    const wins = await api("/api/windows");
    table($("#live-windows"), [T.window, T.services_of_window, T.status, T.staff, T.serving_now],
      wins.windows.map((w) => [w.number, esc(w.services.join(", ")),
        '<span class="' + (w.status === "open" ? "good" : "muted") + '">' + esc(T["st_" + w.status] || w.status) + "</span>",
        esc(w.clerk ? w.clerk.employee_no + " " + w.clerk.name : ""), esc(w.current ? w.current.number : "")]));
    table($("#live-ratings"), [T.time, T.window, T.staff, T.service, T.score],
      now.latest_ratings.map((r) => [esc(Qrate.time(r.at)), r.window, esc(r.clerk || ""), esc(r.service),
        '<span class="' + (r.score <= 2 ? "bad" : "") + '">' + r.score + "</span> " + esc(r.reasons.map((x) => T.reasons[x] || x).join("，"))]));
    await renderAlerts();
    await renderDevices().catch(() => {});  // a device list that cannot be read leaves the rest shown
  }
  // every alert in force (GET /api/alerts): listed until it clears, with how long it waited
  // a long wait pushed as `alert` carries its full words ("… 请增开窗口"): they replace the
  // list's short line for that service, and a pushed alert not yet listed is shown too
  const pushedAlerts = {};
  async function renderAlerts() {
    const list = (await api("/api/alerts")).alerts;
    for (const a of list) {
      const p = a.type === "long_wait" ? pushedAlerts[a.service] : null;
      if (p) { a.message = p.message; a.message_en = p.message_en; a.pushed = true; }
    }
    for (const code of Object.keys(pushedAlerts)) {
      if (!list.some((a) => a.type === "long_wait" && a.service === code)) list.unshift(pushedAlerts[code]);
    }
    const ul = $("#alerts");
    ul.innerHTML = list.length ? "" : '<li class="ok none">' + esc(T.no_alerts) + "</li>";
    for (const a of list) {
      const li = document.createElement("li");
      li.dataset.type = a.type;
      if (a.id) li.dataset.help = a.id;
      const text = document.createElement("span");
      text.textContent = (Qrate.en ? a.message_en : a.message) +
        (Qrate.isNull(a.waited_s) ? "" : " · " + Qrate.fmt(T.waited, {n: Math.floor(a.waited_s / 60)}));
      li.appendChild(text);
      if (a.type === "help") {
        const b = document.createElement("button");
        b.className = "ack";
        b.textContent = T.ack;
        b.addEventListener("click", async () => { await api("/api/help/" + a.id + "/ack", {method: "POST"}); renderAlerts(); });
        li.appendChild(b);
      }
      ul.appendChild(li);
    }
  }
  // --- every device: printers (the snapshot's devices.printers, else devices.printer), serial
  // pads and keypads with their heartbeat (GET /api/devices/serial), USB HID devices as their
  // agents report them (GET /api/devices/hid). Read again at once when the server pushes
  // `device` (managers only: a USB device plugged in or out, an agent silent or back, a
  // serial port opened or closed, its heartbeat late or back), or a printer's
  // `device.changed`; the slow re-read every 60 s is only a safety net.
  const DT = JSON.parse($("#devices").dataset.t);
  const dt = (key, params) => Qrate.fmt(DT[key], params || {});
  const stateCell = (cls, text) => '<span class="' + cls + '">' + esc(text) + "</span>";
  const CLS = {connected: "good", disconnected: "bad", unknown: "muted"};
  let devicesTimer = null;
  function printersOf(devices) {
    devices = devices || {};
    if (Array.isArray(devices.printers) && devices.printers.length) return devices.printers;
    return devices.printer ? [devices.printer] : [];
  }
  async function renderDevices() {
    const none = {ports: [], agents: []};
    const [snap, serial, hid] = await Promise.all([api("/api/queue"), api("/api/devices/serial").catch(() => none),
      api("/api/devices/hid").catch(() => none)]);
    const rows = [];
    for (const p of printersOf(snap.devices)) {
      const cls = p.state === "online" ? "good" : (p.can_print ? "muted" : "bad");
      rows.push({kind: "printer", id: p.name || "printer", cells: [esc(p.name ? DT.printer + " " + p.name : DT.printer),
        esc(p.kiosk ? dt("kiosk", {name: p.kiosk}) : DT.hall), stateCell(cls, Qrate.en ? p.message_en : p.message),
        DASH, DASH, esc(p.since ? dt("checked", {time: Qrate.time(p.since)}) : "")]});
    }
    for (const port of serial.ports || []) {
      const kinds = [];
      if (port.pad_window !== null && port.pad_window !== undefined) kinds.push([DT.serial_pad, port.pad_window]);
      if (port.keypad_window !== null && port.keypad_window !== undefined) kinds.push([DT.serial_keypad, port.keypad_window]);
      const hb = port.heartbeat === "ok" ? stateCell("good", dt("hb_ok", {time: Qrate.time(port.heartbeat_at)}))
        : port.heartbeat === "late" ? stateCell("bad", dt("hb_late", {time: Qrate.time(port.heartbeat_at)}))
          : stateCell("muted", DT.hb_unknown);
      rows.push({kind: "serial", id: port.url, heartbeat: port.heartbeat, state: port.connected ? "connected" : "disconnected", cells: [
        esc(kinds.map((k) => k[0]).join(" + ")) + '<br><span class="muted path">' + esc(port.url) + "</span>",
        esc(Array.from(new Set(kinds.map((k) => dt("window_n", {n: k[1]})))).join(", ")),
        stateCell(port.connected ? "good" : "bad", port.connected ? DT.connected : DT.disconnected), hb, DASH,
        esc(port.last_error || "")]});
    }
    for (const agent of hid.agents || []) {
      const where = agent.window ? dt("window_n", {n: agent.window}) : dt("kiosk", {name: agent.device});
      for (const d of agent.devices) {
        const detail = agent.state === "unknown" ? dt("agent_silent", {name: agent.device, time: Qrate.time(agent.reported_at)})
          : [d.name, d.error, dt("via_agent", {name: agent.device})].filter(Boolean).join(" · ");
        rows.push({kind: "hid", id: d.path, state: d.state, cells: [
          esc(DT["hid_" + d.role] || d.role) + '<br><span class="muted path">' + esc(d.path) + "</span>", esc(where),
          stateCell(CLS[d.state] || "muted", DT[d.state] || d.state), DASH,
          d.last_key ? esc(d.last_key + " · " + Qrate.time(d.last_key_at)) + ' <span class="muted">(' + esc(dt("keys", {n: d.keys || 0})) + ")</span>" : DASH,
          '<span class="l">' + esc(detail) + "</span>"]});
      }
    }
    const head = [DT.device, DT.where, DT.state, DT.heartbeat, DT.last_key, DT.detail];
    $("#devices").innerHTML = "<thead><tr>" + head.map((h) => '<th class="l">' + esc(h) + "</th>").join("") + "</tr></thead><tbody>" +
      (rows.length ? rows.map((r) => '<tr data-kind="' + r.kind + '" data-id="' + esc(r.id) + '"' +
        (r.heartbeat ? ' data-heartbeat="' + esc(r.heartbeat) + '"' : "") + (r.state ? ' data-state="' + esc(r.state) + '"' : "") + ">" +
        r.cells.map((c) => '<td class="l">' + c + "</td>").join("") + "</tr>").join("")
        : '<tr><td colspan="6" class="muted">' + esc(DT.none) + "</td></tr>") + "</tbody>";
    $("#devices-at").textContent = Qrate.time(snap.at);
    if (!devicesTimer) {
      devicesTimer = setInterval(() => { if (!$("#live").hidden) renderDevices().catch(() => {}); }, 60000);
    }
  }
  let deviceTimer = null;
  function devicesSoon() {  // a burst of changes (an agent's first report) is one re-read
    if (!deviceTimer) {
      deviceTimer = setTimeout(() => {
        deviceTimer = null;
        renderDevices().catch(() => {});
        renderAlerts().catch(() => {});
      }, 150);
    }
  }
  function liveSoon() { if (!liveTimer) liveTimer = setTimeout(() => { liveTimer = null; live(); }, 1500); }

  // The page's one Socket.IO connection (common/live.js), shared with the follow-up tabs
  // (followup.js): made after sign-in, so the session puts it in the managers' room.
  function connect() {
    const shared = QrateLive.shared();
    shared.socket.on("device", devicesSoon);  // device health, pushed to the managers' room only
    shared
      .on("event", liveSoon)
      .on("snapshot", (st, before) => {
        if (before !== null) liveSoon();  // back after a cut: catch up
        const v = $("#voice-off");
        if (v) v.hidden = !(st.voice && st.voice.available === false);
      })
      .on("alert", (a) => {
        if (a.active) pushedAlerts[a.service] = a; else delete pushedAlerts[a.service];
        renderAlerts().catch(() => {});  // the list in force, with this one's words
      });
  }

  // --- history ------------------------------------------------------------------
  function rangeForm() {
    const f = $("#range");
    if (!f.from.value) { f.from.value = shift(hallDay, -29); f.to.value = hallDay; }
    return {from: f.from.value, to: f.to.value};
  }
  $("#range").addEventListener("submit", (ev) => { ev.preventDefault(); history(); assessPairs(); });

  function figureCols(r) {
    return [r.issued, r.served, pct(r.no_show_rate), fmtMin(r.wait_s.mean), fmtMin(r.wait_s.p50), fmtMin(r.wait_s.p90),
      fmtMin(r.wait_s.max), pct(r.wait_over_target_rate), fmtMin(r.service_s.mean), fmtMin(r.service_s.p90), r.ratings,
      pct(r.participation), num(r.mean_score, 2), pct(r.good_rate), pct(r.satisfied_rate),
      pct(r.callback_rate), pct(r.followup_rate)];
  }
  const figureHead = () => [T.issued, T.served, T.no_show_rate, T.wait_mean, T.wait_p50, T.wait_p90, T.wait_max,
    T.over_target, T.service_mean, T.service_p90, T.ratings, T.participation, T.mean_score, T.good_rate,
    T.satisfied_rate, T.callback_rate, T.followup_rate];

  async function history() {
    const r = rangeForm();
    const q = "from=" + r.from + "&to=" + r.to;
    document.querySelectorAll(".exports").forEach((s) => {
      s.innerHTML = '<a href="/api/stats/' + s.dataset.what + "?" + q + '&format=csv">CSV</a><a href="/api/stats/' +
        s.dataset.what + "?" + q + '&format=xlsx">XLSX</a>';
    });
    $("#range-note").textContent = T.times_in_minutes;
    const [services, windows, staff, hours, days] = await Promise.all(
      ["services", "windows", "staff", "hours", "days"].map((w) => api("/api/stats/" + w + "?" + q)));
    const reasons = (x) => '<span class="l">' + x.low_reasons.map((r) => esc((T.reasons[r.reason] || r.reason) + " " + r.count)).join("，") + "</span>";
    table($("#t-services"), [T.service, T.name].concat(figureHead(), [T.low_reasons]),
      services.rows.map((x) => [esc(x.service), esc(x.name || "")].concat(figureCols(x), [reasons(x)])));
    table($("#t-windows"), [T.window].concat(figureHead(), [T.open_s + " (" + T.hours_unit + ")", T.idle_s + " (" + T.hours_unit + ")", T.score]),
      windows.rows.map((x) => [x.window].concat(figureCols(x), [fmtHours(x.open_s), fmtHours(x.idle_s), num(x.score, 1) + flagText(x.flags)])));
    table($("#t-staff"), [T.staff, T.name].concat(figureHead(), [T.score]),
      staff.rows.map((x) => [esc(x.staff), esc(x.name || "")].concat(figureCols(x), [num(x.score, 1) + flagText(x.flags)])));
    table($("#t-hours"), [T.hour].concat(figureHead()), hours.rows.map((x) => [x.hour + ":00"].concat(figureCols(x))));
    const hrs = hours.rows.filter((x) => x.called);
    chart("chart-hours", {type: "bar", data: {labels: hrs.map((x) => x.hour + ":00"), datasets: [
      {label: T.wait_mean, data: hrs.map((x) => x.wait_s.mean / 60), backgroundColor: "#e8a19c"},
      {label: T.wait_p90, data: hrs.map((x) => x.wait_s.p90 / 60), backgroundColor: "#b3261e"}]}});
    const colours = ["#7f1d1d", "#dc2626", "#f59e0b", "#60a5fa", "#16a34a"];
    const byNumber = windows.rows.slice().sort((a, b) => a.window - b.window);
    chart("chart-ratings", {type: "bar", data: {labels: byNumber.map((x) => x.window),
      datasets: [1, 2, 3, 4, 5].map((l) => ({label: T["l" + l], data: byNumber.map((x) => x.levels[String(l)]), backgroundColor: colours[l - 1]}))},
      options: {scales: {x: {stacked: true}, y: {stacked: true}}, plugins: {legend: {labels: {boxWidth: 10}}}}});
    chart("chart-days", {type: "line", data: {labels: days.rows.map((x) => x.day.slice(5)), datasets: [
      {label: T.served, data: days.rows.map((x) => x.served), borderColor: "#1d4ed8", yAxisID: "y"},
      {label: T.wait_mean + " (" + T.minutes + ")", data: days.rows.map((x) => x.wait_s.mean === null ? null : x.wait_s.mean / 60), borderColor: "#b3261e", yAxisID: "y1"},
      {label: T.good_rate + " %", data: days.rows.map((x) => x.good_rate === null ? null : 100 * x.good_rate), borderColor: "#16a34a", yAxisID: "y1"}]},
      options: {elements: {point: {radius: 0}}, scales: {y: {position: "left"}, y1: {position: "right", grid: {drawOnChartArea: false}}}}});
  }

  // --- assessment ---------------------------------------------------------------
  const assessForm = $("#assess-form");
  assessForm.addEventListener("submit", (ev) => { ev.preventDefault(); assess(); });
  function judgedRows(rows, key) {
    return rows.map((x) => [x.rank || DASH, esc(x[key]) + (x.name && key === "staff" ? " " + esc(x.name) : ""), x.served,
      fmtMin(x.service_s.mean) + ' <span class="muted">/ ' + fmtMin(x.targets ? x.targets.service_s : null) + "</span>",
      pct(x.good_rate) + ' <span class="muted">/ ' + pct(x.targets ? x.targets.good_rate : null) + "</span>",
      pct(x.wait_over_target_rate), num(x.score, 1), flagText(x.flags)]);
  }
  const judgedHead = (k) => [T.rank, T[k], T.served, T.service_mean + " / " + T.target, T.good_rate + " / " + T.target, T.over_target, T.score, T.flags];
  async function assess() {
    if (!assessForm.day.value) assessForm.day.value = shift(hallDay, -1);
    if (!assessForm.period.value) assessForm.period.value = hallDay.slice(0, 7);
    const [card, rank] = await Promise.all([api("/api/stats/scorecard?day=" + assessForm.day.value),
      api("/api/stats/rankings?period=" + encodeURIComponent(assessForm.period.value))]);
    table($("#card-windows"), judgedHead("window"), judgedRows(card.windows, "window"));
    table($("#card-staff"), judgedHead("staff"), judgedRows(card.staff, "staff"));
    $("#period-label").textContent = rank.from + " – " + rank.to;
    table($("#rank-windows"), judgedHead("window"), judgedRows(rank.windows, "window"));
    table($("#rank-staff"), judgedHead("staff"), judgedRows(rank.staff, "staff"));
    assessPairs();
  }
  async function assessPairs() {
    const r = rangeForm();
    const body = await api("/api/stats/pairs?from=" + r.from + "&to=" + r.to);
    const el = $("#pairs");
    // pairs are made within a post (岗位), on the post score; weak: the indicators missed
    table(el, [T.as_post, T.mentor, T.score, T.mentee, T.score, T.tr_weak],
      body.pairs.map((p) => [esc(p.post_name || p.post),
        p.mentor ? esc(p.mentor.staff + " " + (p.mentor.name || "")) : '<span class="muted">' + esc(T.no_mentor) + "</span>",
        p.mentor ? num(p.mentor.score, 1) : DASH,
        esc(p.mentee.staff + " " + (p.mentee.name || "")), num(p.mentee.score, 1),
        esc((p.weak || []).map((i) => (Qrate.en ? i.label_en : i.label)).join("，"))]));
    if (!body.pairs.length) { el.querySelector("td").textContent = T.no_pairs; return; }
    const pick = (i) => {
      el.querySelectorAll("tbody tr").forEach((tr, j) => tr.classList.toggle("sel", i === j));
      const p = body.pairs[i];
      const a = (p.mentor && p.trend[p.mentor.staff]) || [], b = p.trend[p.mentee.staff] || [];
      const days = Array.from(new Set(a.concat(b).map((x) => x.day))).sort();
      const by = (rows) => { const m = {}; rows.forEach((x) => { m[x.day] = x.score; }); return days.map((d) => (d in m ? m[d] : null)); };
      chart("chart-pair", {type: "line", data: {labels: days.map((d) => d.slice(5)), datasets: [
        {label: T.mentor + " " + (p.mentor ? p.mentor.staff : DASH), data: by(a), borderColor: "#16a34a", spanGaps: true},
        {label: T.mentee + " " + p.mentee.staff, data: by(b), borderColor: "#b3261e", spanGaps: true}]},
        options: {plugins: {title: {display: true, text: T.trend_of_pair}}}});
    };
    el.querySelectorAll("tbody tr").forEach((tr, i) => tr.addEventListener("click", () => pick(i)));
    pick(0);
  }

  // --- settings (read-only) ---------------------------------------------------------
  async function settings() {
    const s = await api("/api/manage/settings");
    $("#notice").textContent = s.hall.notice;
    table($("#s-services"), [T.service, T.name, T.hours, T.target_wait + " (" + T.minutes + ")", T.target_service + " (" + T.minutes + ")", T.target_good],
      s.services.map((x) => [esc(x.code), esc(x.name), esc(x.hours), fmtMin(x.target_wait_s), fmtMin(x.target_service_s), pct(x.target_good_rate)]));
    table($("#s-windows"), [T.window, T.name, T.services_of_window],
      s.windows.map((w) => [w.number, esc(w.name), esc(w.services.join(", "))]));
    table($("#s-staff"), [T.staff, T.name, T.commitment],
      s.staff.map((x) => [esc(x.employee_no), esc(x.name), '<span class="l">' + esc(x.commitment) + "</span>"]));
  }

  start();
})();
