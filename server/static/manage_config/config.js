/* The hall's settings (/manage/config): GET /api/config, edit, PUT /api/config.
 * The server checks everything (server/hallschema.py); this page shows what it says. */
(function () {
  "use strict";
  const T = window.QRATE.T;
  const $ = (s) => document.querySelector(s);
  const esc = Qrate.esc;
  const fmt = Qrate.fmt;
  let cfg = null, etag = "", me = null;

  // --- talking to the server ---------------------------------------------------------
  async function load() {
    const r = await fetch("/api/config", {credentials: "same-origin", cache: "no-store"});
    if (r.status === 401 || r.status === 403) { $("#signin").hidden = false; return false; }
    etag = r.headers.get("ETag") || "";
    cfg = await r.json();
    return true;
  }

  function say(text, bad) {
    const el = $("#status");
    el.textContent = text;
    el.classList.toggle("err", !!bad);
  }

  function errText(body) {
    const e = body && body.error;
    if (!e) return T.failed;
    return Qrate.en ? e.message_en : e.message;
  }

  async function save(next, done, query) {
    document.querySelectorAll(".bad").forEach((el) => el.classList.remove("bad"));
    const r = await fetch("/api/config" + (query || ""), {
      method: "PUT", credentials: "same-origin", cache: "no-store",
      headers: {"Content-Type": "application/json", "If-Match": etag}, body: JSON.stringify(next)});
    const body = await r.json().catch(() => null);
    if (r.ok) {
      etag = r.headers.get("ETag") || "";
      cfg = body;
      const later = r.headers.get("Qrate-Next-Start");  // [server] host/port: only at a restart
      const rota = r.headers.get("Qrate-Rota-Removed");  // a removed window's rota went with it
      say((later ? fmt(T.next_start, {keys: later}) : (done || T.saved)) + (rota ? " " + fmt(T.rota_removed, {windows: rota}) : ""));
      render();
      return true;
    }
    if (r.status === 409 && body && body.error.code === "would_strand") return strand(next, done, body.error);
    if (r.status === 409 && body && body.error.code === "config_moved") { await load(); render(); }
    if (r.status === 422 && body) {
      (body.error.details || []).forEach((d) => {
        document.querySelectorAll('[data-path="' + d.field + '"]').forEach((el) => el.classList.add("bad"));
      });
      say(errText(body) + " " + (body.error.details || []).map((d) => d.key + ": " + d.problem).join("; "), true);
      return false;
    }
    say(errText(body), true);
    return false;
  }

  function strand(next, done, error) {
    const dlg = $("#strand");
    $("#strand-text").textContent = Qrate.en ? error.message_en : error.message;
    const move = error.details.options.find((o) => o.action === "move");
    $("#strand-to").innerHTML = (move.services || []).map((c) => '<option value="' + esc(c) + '">' + esc(c) + " " +
      esc(serviceName(c)) + "</option>").join("");
    dlg.returnValue = "";
    dlg.showModal();
    return new Promise((resolve) => {
      dlg.addEventListener("close", async function once() {
        dlg.removeEventListener("close", once);
        if (dlg.returnValue !== "go") { say(T.not_saved, true); resolve(false); return; }
        const f = new FormData($("#strand-form"));
        const q = f.get("action") === "move" ? "?stranded=move&to=" + encodeURIComponent(f.get("to") || "")
          : "?stranded=cancel&reason=" + encodeURIComponent(f.get("reason") || "");
        resolve(await save(next, done, q));
      });
    });
  }

  const copy = (x) => JSON.parse(JSON.stringify(x));
  const serviceName = (code) => { const s = (cfg.services || []).find((x) => x.code === code); return s ? s.name : ""; };

  // --- fields: one spec per key; the form writes back into a copy of the row ------------
  const splitList = (v) => v.split(/[,，、;；\s]+/).map((x) => x.trim()).filter(Boolean);
  const KINDS = {
    text: {show: (v) => v == null ? "" : String(v), read: (v) => v},
    num: {show: (v) => v == null ? "" : String(v), read: (v) => v === "" ? undefined : Number(v)},
    list: {show: (v) => (v || []).join(", "), read: splitList},
    ints: {show: (v) => (v || []).join(", "), read: (v) => splitList(v).map(Number)},
    slots: {show: (v) => (v || []).map((s) => s.from + "-" + s.to + "=" + s.cap).join(", "),
            read: (v) => splitList(v).map((p) => { const m = p.split("="); const ft = m[0].split("-");
              return {from: ft[0], to: ft[1] || "", cap: Number(m[1])}; })},
    // a table of codes, "queue_jump=process, knowledge=level" ([ratings] reason_map)
    pairs: {show: (v) => Object.entries(v || {}).map(([k, x]) => k + "=" + x).join(", "),
            read: (v) => Object.fromEntries(splitList(v).map((p) => p.split("=").map((x) => x.trim())))},
  };

  function fieldsHtml(specs, row, prefix, locked) {
    return specs.map((s) => {
      const kind = KINDS[s.kind || "text"];
      const path = prefix + "." + s.key;
      const dis = locked && locked(s) ? " disabled" : "";
      let input;
      if (s.options) {
        input = '<select name="' + s.key + '" data-path="' + path + '"' + dis + ">" + s.options.map((o) =>
          '<option value="' + o + '"' + (row[s.key] === o ? " selected" : "") + ">" + esc(T["opt_" + o] || o) + "</option>").join("") + "</select>";
      } else if (s.kind === "bool") {
        input = '<input type="checkbox" name="' + s.key + '" data-path="' + path + '"' + (row[s.key] ? " checked" : "") + dis + ">";
      } else {
        input = '<input name="' + s.key + '" data-path="' + path + '" value="' + esc(kind.show(row[s.key])) + '"' +
          (s.placeholder ? ' placeholder="' + esc(s.placeholder) + '"' : "") + dis + ">";
      }
      return '<label class="' + (s.wide || "") + '">' + esc(T[s.label] || s.label) + input + "</label>";
    }).join("");
  }

  function readFields(form, specs, row) {
    const out = copy(row);
    specs.forEach((s) => {
      const el = form.elements[s.key];
      if (!el || el.disabled) return;
      const v = s.kind === "bool" ? el.checked : (KINDS[s.kind || "text"].read(el.value.trim()));
      if (v === "" && !(s.key in row)) return;  // an empty box the row never had: no change
      if (v === undefined || (s.optional && (v === "" || (Array.isArray(v) && !v.length)))) delete out[s.key];
      else out[s.key] = v;
    });
    return out;
  }

  const SERVICE = [
    {key: "code", label: "f_code"}, {key: "name", label: "f_name"}, {key: "name_en", label: "f_name_en"},
    {key: "category", label: "f_category", optional: true}, {key: "category_en", label: "f_category_en", optional: true},
    {key: "target_wait_min", label: "f_target_wait", kind: "num"},
    {key: "target_service_min", label: "f_target_service", kind: "num"},
    {key: "target_good_rate", label: "f_target_good", kind: "num"},
    {key: "hours", label: "f_hours", kind: "list", wide: "wide", placeholder: "08:30-12:00, 13:30-17:30"},
    {key: "days", label: "f_days", kind: "ints", placeholder: "1, 2, 3, 4, 5"},
    {key: "daily_cap", label: "f_daily_cap", kind: "num", optional: true},
    {key: "warn_at", label: "f_warn_at", kind: "num", placeholder: "0.9"},
    {key: "slots", label: "f_slots", kind: "slots", wide: "span5", optional: true, placeholder: "08:30-12:00=240, 13:30-17:30=200"},
    {key: "materials", label: "f_materials", wide: "half"}, {key: "materials_en", label: "f_materials_en", wide: "half"},
  ];
  const STAFF = [
    {key: "employee_no", label: "f_employee_no"}, {key: "name", label: "f_person_name"},
    {key: "role", label: "f_role", options: ["clerk", "manager", "admin"]},
    {key: "commitment", label: "f_commitment", wide: "full"}, {key: "commitment_en", label: "f_commitment_en", wide: "full"},
  ];
  const SECTIONS = [
    {section: "ratings", title: "t_ratings", specs: [
      {key: "reasons", label: "f_reasons", kind: "list", wide: "full"},
      {key: "reason_map", label: "f_reason_map", kind: "pairs", wide: "full"},
      {key: "ticket_dimensions", label: "f_ticket_dimensions", kind: "bool", wide: "wide"},
      {key: "window_minutes", label: "f_window_minutes", kind: "num", wide: "wide"},
      {key: "prompt_seconds", label: "f_prompt_seconds", kind: "num", wide: "wide"}]},
    {section: "followup", title: "t_followup", specs: [
      {key: "callback", label: "f_callback", wide: "wide"}, {key: "verify", label: "f_verify", wide: "wide"},
      {key: "rectify", label: "f_rectify", wide: "wide"}, {key: "reply", label: "f_reply", wide: "wide"},
      {key: "due_soon_hours", label: "f_due_soon", kind: "num", wide: "wide"},
      {key: "owner", label: "f_owner", wide: "wide"}]},
    {section: "alerts", title: "t_alerts", specs: [
      {key: "long_wait_min", label: "f_long_wait_min", kind: "num", wide: "wide"},
      {key: "long_wait_count", label: "f_long_wait_count", kind: "num", wide: "wide"},
      {key: "check_s", label: "f_check_s", kind: "num", wide: "wide"}]},
  ];
  const PRINTER = [{key: "url", label: "f_printer_url", wide: "full"},
                   {key: "mode", label: "f_printer_mode", options: ["text", "raster"], wide: "wide"}];
  const SERVER = [{key: "host", label: "f_server_host", wide: "wide"},
                  {key: "port", label: "f_server_port", kind: "num", wide: "wide"}];
  const isAdmin = () => me && me.role === "admin";

  // --- the tabs -------------------------------------------------------------------------
  function renderServices() {
    $("#service-list").innerHTML = cfg.services.map((s, i) =>
      '<form class="card fields" data-i="' + i + '"><h3 class="full" style="grid-column:1/-1"><span class="code">' +
      esc(s.code) + "</span>" + esc(s.name) + ' <small class="muted">' + esc(s.name_en || "") + "</small></h3>" +
      fieldsHtml(SERVICE, s, "services." + i) +
      '<div class="actions"><button type="button" class="danger" data-remove>' + esc(T.remove) + '</button><button type="submit">' +
      esc(T.save) + "</button></div></form>").join("");
    document.querySelectorAll("#service-list form").forEach((form) => {
      const i = Number(form.dataset.i);
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        const next = copy(cfg);
        next.services[i] = readFields(form, SERVICE, cfg.services[i]);
        save(next, fmt(T.saved_service, {code: next.services[i].code}));
      });
      form.querySelector("[data-remove]").addEventListener("click", () => {
        const next = copy(cfg);
        const code = next.services[i].code;
        next.services.splice(i, 1);
        next.windows.forEach((w) => { w.services = (w.services || []).filter((c) => c !== code); });
        save(next, fmt(T.removed_service, {code: code}));
      });
    });
  }

  function freeCode() {
    const used = new Set(cfg.services.map((s) => s.code));
    for (let c = 65; c <= 90; c++) if (!used.has(String.fromCharCode(c))) return String.fromCharCode(c);
    return "";
  }

  function renderWindows() {
    const head = [T.f_number, T.f_name, T.f_services, ""];
    $("#window-table").innerHTML = "<thead><tr>" + head.map((h) => "<th>" + esc(h) + "</th>").join("") + "</tr></thead><tbody>" +
      cfg.windows.map((w, i) => '<tr data-i="' + i + '"><td class="n"><input name="number" data-path="windows.' + i + '.number" value="' + esc(w.number) + '"></td>' +
        '<td><input name="name" data-path="windows.' + i + '.name" value="' + esc(w.name || "") + '"></td>' +
        '<td><input name="services" data-path="windows.' + i + '.services" value="' + esc((w.services || []).join(", ")) + '"></td>' +
        '<td><button type="button" data-save>' + esc(T.save) + '</button> <button type="button" class="danger" data-remove>' + esc(T.remove) + "</button></td></tr>").join("") +
      "</tbody>";
    document.querySelectorAll("#window-table tbody tr").forEach((tr) => {
      const i = Number(tr.dataset.i);
      const q = (n) => tr.querySelector('[name="' + n + '"]').value.trim();
      tr.querySelector("[data-save]").addEventListener("click", () => {
        const next = copy(cfg);
        const w = next.windows[i];
        w.number = Number(q("number"));
        w.name = q("name");
        w.services = splitList(q("services")).map((c) => c.toUpperCase());
        save(next, fmt(T.saved_window, {n: w.number}));
      });
      tr.querySelector("[data-remove]").addEventListener("click", () => {
        const next = copy(cfg);
        const n = next.windows[i].number;
        next.windows.splice(i, 1);
        save(next, fmt(T.removed_window, {n: n}));
      });
    });
  }

  function renderStaff() {
    $("#staff-list").innerHTML = cfg.staff.map((s, i) =>
      '<div class="card staff-row" data-i="' + i + '"><div><img alt="" src="/pad/photo/' + encodeURIComponent(s.employee_no) + "?v=" + encodeURIComponent(etag) +
      '" onerror="this.style.visibility=\'hidden\'"><label class="upload">' + esc(T.upload_photo) + '<input type="file" accept="image/jpeg,image/png" data-photo></label></div>' +
      '<form class="fields">' + fieldsHtml(STAFF, s, "staff." + i, (f) => f.key === "role" && !isAdmin()) +
      '<div class="actions"><button type="button" class="danger" data-remove>' + esc(T.remove) + '</button><button type="submit">' +
      esc(T.save) + "</button></div></form></div>").join("");
    document.querySelectorAll("#staff-list .staff-row").forEach((row) => {
      const i = Number(row.dataset.i);
      const form = row.querySelector("form");
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        const next = copy(cfg);
        next.staff[i] = readFields(form, STAFF, cfg.staff[i]);
        save(next, fmt(T.saved_staff, {no: next.staff[i].employee_no}));
      });
      row.querySelector("[data-remove]").addEventListener("click", () => {
        const next = copy(cfg);
        next.staff.splice(i, 1);
        save(next, T.saved);
      });
      row.querySelector("[data-photo]").addEventListener("change", async (ev) => {
        const file = ev.target.files[0];
        if (!file) return;
        const r = await fetch("/api/config/staff/" + encodeURIComponent(cfg.staff[i].employee_no) + "/photo", {
          method: "POST", credentials: "same-origin", headers: {"Content-Type": file.type || "image/jpeg", "If-Match": etag}, body: file});
        const body = await r.json().catch(() => null);
        if (r.ok) { etag = r.headers.get("ETag") || ""; cfg = body; say(T.saved); render(); } else say(errText(body), true);
      });
    });
    fetch("/api/config/commitments", {credentials: "same-origin"}).then((r) => r.json()).then((d) => {
      const head = [T.f_employee_no, T.when, T.by, T.f_commitment, T.f_commitment_en];
      $("#commitments").innerHTML = "<thead><tr>" + head.map((h) => '<th class="l">' + esc(h) + "</th>").join("") + "</tr></thead><tbody>" +
        d.commitments.map((c) => '<tr><td class="l">' + esc(c.employee_no) + '</td><td class="l">' + esc(c.at.slice(0, 16).replace("T", " ")) +
          '</td><td class="l">' + esc(c.by) + '</td><td class="l new">' + esc(c.commitment) + '</td><td class="l new">' + esc(c.commitment_en) + "</td></tr>").join("") + "</tbody>";
    }).catch(() => {});
  }

  function renderSections() {
    $("#ratings-forms").innerHTML = SECTIONS.map((sec) =>
      '<form class="card fields" data-section="' + sec.section + '"><h3 style="grid-column:1/-1">' + esc(T[sec.title]) + "</h3>" +
      fieldsHtml(sec.specs, cfg[sec.section] || {}, sec.section) +
      (sec.section === "ratings" ? '<p class="muted full" style="grid-column:1/-1">' + esc((cfg.ratings.reasons || []).map((c) => c + " = " + ((T.reasons || {})[c] || c)).join("，")) + "</p>" : "") +
      '<div class="actions"><button type="submit">' + esc(T.save) + "</button></div></form>").join("");
    document.querySelectorAll("#ratings-forms form").forEach((form) => {
      const sec = SECTIONS.find((s) => s.section === form.dataset.section);
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        const next = copy(cfg);
        next[sec.section] = readFields(form, sec.specs, cfg[sec.section] || {});
        save(next);
      });
    });
    $("#printer-form").innerHTML = '<form class="fields"><h3 style="grid-column:1/-1">' + esc(T.t_printer) + "</h3>" +
      fieldsHtml(PRINTER, cfg.printer, "printer", () => !isAdmin()) +
      (isAdmin() ? "" : '<p class="muted" style="grid-column:1/-1">' + esc(T.admin_only) + "</p>") +
      '<div class="actions"><button type="submit"' + (isAdmin() ? "" : " disabled") + ">" + esc(T.save) + "</button></div></form>";
    $("#printer-form form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const next = copy(cfg);
      next.printer = readFields(ev.target, PRINTER, cfg.printer);
      save(next);
    });
    // [server] host/port: saved here, but a running server cannot move (docs/operations.md)
    $("#printer-form").insertAdjacentHTML("beforeend", '<div id="server-box"><h3>' + esc(T.t_server) + "</h3>" +
      '<p class="muted">' + esc(T.server_note) + "</p>" +
      '<form class="fields" id="server-form">' + fieldsHtml(SERVER, cfg.server || {}, "server", () => !isAdmin()) +
      '<div class="actions"><button type="submit"' + (isAdmin() ? "" : " disabled") + ">" + esc(T.save) + "</button></div></form></div>");
    $("#server-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const next = copy(cfg);
      next.server = readFields(ev.target, SERVER, cfg.server || {});
      save(next);
    });
  }

  const SPEC_OF = {services: SERVICE, staff: STAFF};
  function keyLabel(key) {
    const parts = key.split(".");
    const sec = parts[0], id = parts[1], field = parts[2];
    const section = T["sec_" + sec];
    if (!section || id === undefined) return key;
    const spec = (SPEC_OF[sec] || [{key: "name", label: "f_name"}, {key: "services", label: "f_services"},
      {key: "number", label: "f_number"}]).find((s) => s.key === field);
    return section + " " + id + (field ? " · " + (spec ? T[spec.label] : field) : "");
  }

  function show(v) {
    if (v === null || v === undefined) return "—";
    return typeof v === "object" ? JSON.stringify(v) : String(v);
  }

  async function renderAudit() {
    const r = await fetch("/api/config/changes", {credentials: "same-origin", cache: "no-store"});
    if (!r.ok) return;
    const d = await r.json();
    const head = [T.when, T.by, T.source, T.key, T.old, T.new];
    const rows = [];
    d.changes.forEach((c) => c.changes.forEach((x) => rows.push('<tr><td class="l">' + esc(c.at.slice(0, 19).replace("T", " ")) +
      '</td><td class="l">' + esc(c.by) + '</td><td class="l">' + esc(T["src_" + c.source] || c.source) + '</td><td class="l">' + esc(keyLabel(x.key)) +
      ' <small class="muted">' + esc(x.key) + "</small>" +
      '</td><td class="l old">' + esc(show(x.old)) + '</td><td class="l new">' + esc(show(x.new)) + "</td></tr>")));
    $("#audit-table").innerHTML = "<thead><tr>" + head.map((h) => '<th class="l">' + esc(h) + "</th>").join("") + "</tr></thead><tbody>" +
      (rows.join("") || '<tr><td class="muted" colspan="6">' + esc(T.no_changes) + "</td></tr>") + "</tbody>";
  }

  let typing = false;
  function render() {
    typing = false;
    renderServices(); renderWindows(); renderStaff(); renderSections();
    if ((location.hash || "#services") === "#audit") renderAudit();
  }

  function tab() {
    const t = (location.hash || "#services").slice(1);
    document.querySelectorAll(".tab").forEach((s) => { s.hidden = s.id !== t; });
    document.querySelectorAll("#tabs a[data-tab]").forEach((a) => a.classList.toggle("on", a.dataset.tab === t));
    if (t === "audit") renderAudit();
  }

  $("#add-service").addEventListener("click", () => {
    const next = copy(cfg);
    const code = freeCode();
    next.services.push({code: code, name: T.new_service, name_en: "", hours: [], days: [1, 2, 3, 4, 5]});
    save(next, fmt(T.saved_service, {code: code})).then(() => { location.hash = "#services"; });
  });
  $("#add-window").addEventListener("click", () => {
    const next = copy(cfg);
    const n = Math.max(0, ...next.windows.map((w) => w.number)) + 1;
    next.windows.push({number: n, name: fmt(T.window_n, {n: n}), services: []});
    save(next, fmt(T.saved_window, {n: n}));
  });
  $("#add-staff").addEventListener("click", () => {
    const next = copy(cfg);
    let n = 1000;
    const used = new Set(next.staff.map((s) => s.employee_no));
    while (used.has(String(n))) n++;
    next.staff.push({employee_no: String(n), name: T.new_person, role: "clerk", commitment: "", commitment_en: ""});
    save(next, fmt(T.saved_staff, {no: n}));
  });
  $("#notice-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await Qrate.api("/api/notice", {method: "PUT", body: {text: ev.target.elements.text.value}});
      say(T.saved);
    } catch (e) { say(e.message, true); }
  });

  (async function start() {
    try { me = await Qrate.api("/api/me"); } catch (e) { me = null; }
    if (!(await load())) return;
    $("#tabs").hidden = false;
    window.addEventListener("hashchange", tab);
    Qrate.api("/api/notice").then((n) => { $("#notice-form").elements.text.value = n.text; }).catch(() => {});
    render();
    tab();
    // another manager's change (or hall.toml at a restart) redraws this page too
    // (our own save's echo changes nothing: the page already shows that configuration; and
    // a form someone is typing into is never redrawn under their hands)
    QrateLive.shared({onEvent: async (ev) => {
      if (ev.type !== "config.changed") return;
      const before = JSON.stringify(cfg);
      await load();
      if (JSON.stringify(cfg) === before) return;
      if (typing) { say(T.changed_elsewhere); return; }
      render();
    }});
    // typed into a form since it was drawn: set on input, cleared by each redraw
    document.addEventListener("input", (ev) => { if (ev.target.matches("input, textarea, select")) typing = true; });
    document.body.dataset.ready = "1";
  })();
})();
