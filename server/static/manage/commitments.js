/* Yearly public commitments (公开承诺), /manage/commitments: the year's commitments with
 * their progress (GET /api/commitments/report), every version with when it was made and
 * replaced (GET /api/commitments), and the form that sets or revises one
 * (POST /api/commitments). Targets are typed in minutes and per cent, sent in the API's
 * units (seconds, a share 0-1). Rounding happens only here. */
(function () {
  "use strict";
  const Q = window.QRATE, T = Q.T, esc = Qrate.esc, DASH = Qrate.DASH;
  const $ = (s) => document.querySelector(s);
  const clerks = Object.fromEntries(Q.clerks.map((c) => [c.staff, c]));
  const form = $("#c-form"), yearForm = $("#year-form");
  let current = [];

  const year = () => Number(yearForm.year.value) || Q.year;
  const label = (t) => (Qrate.en ? t.label_en : t.label) || t.figure;
  const unitText = (unit) => ({s: T.u_min, rate: "%", per_h: T.u_per_h}[unit] || "");
  // API unit -> what a manager types, and back
  const shown = (v, unit) => (v === null || v === undefined ? null
    : unit === "s" ? Math.round(v / 6) / 10 : unit === "rate" ? Math.round(v * 1000) / 10
      : Math.round(v * 100) / 100);
  const sent = (v, unit) => (unit === "s" ? v * 60 : unit === "rate" ? v / 100 : v);
  const value = (v, unit) => (v === null || v === undefined ? DASH : shown(v, unit) + (unitText(unit) ? " " + unitText(unit) : ""));
  function say(text, bad) { const el = $("#status"); el.textContent = text; el.classList.toggle("err", !!bad); }

  function targetText(t) {
    const head = label(t) + " " + (t.better === "lower" ? T.c_at_most : T.c_at_least) + " " + value(t.target, t.unit);
    const state = t.kept === null || t.kept === undefined ? '<span class="muted">' + esc(T.c_no_data) + "</span>"
      : '<span class="' + (t.kept ? "good" : "bad") + '">' + esc(value(t.value, t.unit)) + " · " +
        esc(t.kept ? T.c_kept : T.c_not_kept) + "</span>";
    return '<div class="target">' + esc(head) + "　" + state + "</div>";
  }
  function table(el, head, rows, empty) {
    el.innerHTML = "<thead><tr>" + head.map((h) => "<th>" + esc(h) + "</th>").join("") + "</tr></thead><tbody>" +
      (rows.length ? rows.map((r) => "<tr>" + r.map((c) => "<td class=\"l\">" + c + "</td>").join("") + "</tr>").join("")
        : '<tr><td colspan="' + head.length + '" class="muted">' + esc(empty) + "</td></tr>") + "</tbody>";
  }
  const who = (c) => esc(c.staff + " " + (c.name || ""));
  const postOf = (staff) => (clerks[staff] ? (Qrate.en ? clerks[staff].post_name_en : clerks[staff].post_name) : "");
  const textOf = (c) => esc((Qrate.en && c.text_en) || c.text);

  async function load() {
    const y = year();
    const [report, all] = await Promise.all([Qrate.api("/api/commitments/report?year=" + y),
      Qrate.api("/api/commitments?year=" + y)]);
    current = report.commitments;
    table($("#c-current"), [T.c_staff, T.c_post, T.c_text, T.c_targets, ""],
      current.map((c) => [who(c), esc(postOf(c.staff)), textOf(c), c.targets.map(targetText).join(""),
        '<button type="button" class="ghost" data-revise="' + esc(c.staff) + '">' + esc(T.c_revise) + "</button>"]),
      T.c_none);
    table($("#c-history"), [T.c_staff, T.c_text, T.c_targets_only, T.c_made, T.c_replaced],
      all.commitments.map((c) => [who(c), textOf(c),
        c.targets.map((t) => esc(label(t) + " " + (t.better === "lower" ? T.c_at_most : T.c_at_least) + " " + value(t.target, t.unit))).join("<br>"),
        esc(Qrate.dateTime(c.made_at)), c.replaced_at ? esc(Qrate.dateTime(c.replaced_at)) : '<span class="good">' + esc(T.c_current) + "</span>"]),
      T.c_history_none);
    for (const [id, fmt] of [["report-csv", "csv"], ["report-xlsx", "xlsx"]]) {
      $("#" + id).href = "/api/commitments/report?year=" + y + "&format=" + fmt + (Qrate.en ? "&lang=en" : "");
    }
    $("#report-print").href = "/manage/commitments/report?year=" + y;
  }

  // --- the form: a clerk's post gives the indicators a target may name ------------------
  // one row per indicator of the post: ticked when the commitment targets it
  function targetRow(ind, t) {
    const row = document.createElement("div");
    row.className = "target-row";
    row.dataset.figure = ind.figure;
    row.innerHTML = '<label class="check"><input type="checkbox" name="use"' + (t ? " checked" : "") + "> " +
      esc(label(ind) + " " + (ind.better === "lower" ? T.c_at_most : T.c_at_least)) + "</label>" +
      '<input name="target" type="number" step="any" required><span class="unit">' + esc(unitText(ind.unit)) + "</span>";
    row.querySelector("input[name=target]").value = shown(t ? t.target : ind.target, ind.unit);
    return row;
  }
  function pick(staff) {
    const c = clerks[staff];
    const box = $("#c-targets");
    box.innerHTML = "";
    if (!c) { $("#c-post").textContent = ""; return; }
    $("#c-post").textContent = T.c_post + ": " + postOf(staff);
    const mine = current.find((x) => x.staff === staff);
    form.text.value = mine ? mine.text : "";
    form.text_en.value = mine ? mine.text_en : "";
    c.indicators.forEach((ind, i) => {
      const given = mine ? mine.targets.find((t) => t.figure === ind.figure) : (i === 0 ? ind : null);
      box.appendChild(targetRow(ind, given || null));
    });
  }
  form.staff.innerHTML = '<option value="">' + esc(T.c_pick) + "</option>" +
    Q.clerks.map((c) => '<option value="' + esc(c.staff) + '">' + esc(c.staff + " " + c.name + " · " + postOf(c.staff)) + "</option>").join("");
  form.staff.addEventListener("change", () => pick(form.staff.value));
  document.addEventListener("click", (ev) => {
    const staff = ev.target.dataset && ev.target.dataset.revise;
    if (!staff) return;
    form.staff.value = staff;
    pick(staff);
    form.text.focus();
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const c = clerks[form.staff.value];
    if (!c) return;
    const targets = Array.from(form.querySelectorAll(".target-row")).filter((r) => r.querySelector("[name=use]").checked)
      .map((r) => {
        const figure = r.dataset.figure, unit = c.indicators.find((i) => i.figure === figure).unit;
        return {figure: figure, target: sent(Number(r.querySelector("input[name=target]").value), unit)};
      });
    try {
      await Qrate.api("/api/commitments", {method: "POST", body: {staff: c.staff, year: year(),
        text: form.text.value.trim(), text_en: form.text_en.value.trim(), targets: targets}});
      say(Qrate.fmt(T.c_saved, {name: c.name, year: year()}));
      await load();
    } catch (e) { say(e.message || T.failed, true); }
  });
  yearForm.addEventListener("submit", (ev) => { ev.preventDefault(); load().catch((e) => say(e.message, true)); });
  load().catch((e) => say(e.message || T.failed, true));
})();
