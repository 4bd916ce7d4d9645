/* The dashboard's assessment by post (岗位考评): /api/stats/assessment for the ranking
   period of the assessment tab, each clerk ranked within their post, the indicators met,
   and the distribution of scores per post. No figures are computed here. */
(function () {
  "use strict";
  const T = window.QRATE.T;
  const $ = (s) => document.querySelector(s);
  const {DASH, esc, num} = Qrate;
  const form = $("#assess-form");
  let chart = null;

  function period() {
    const p = (form.period.value || "").trim();
    return /^\d{4}(-\d{2}|-Q[1-4])?$/i.test(p) ? p.toUpperCase() : Qrate.day().slice(0, 7);
  }
  function fmtValue(v, unit) {
    if (v === null || v === undefined) return DASH;
    if (unit === "s") return num(v / 60, 1) + " " + T.minutes;
    if (unit === "rate") return num(100 * v, 1) + "%";
    if (unit === "count") return String(Math.round(v));
    return num(v, 2);
  }
  function indicatorText(list) {
    return list.map((i) => '<span class="ind ' + (i.met === null ? "muted" : i.met ? "ok" : "flag") + '">' +
      esc((Qrate.en ? i.label_en : i.label) || i.figure) + " " + fmtValue(i.value, i.unit) +
      (i.better === "lower" ? " ≤ " : " ≥ ") + fmtValue(i.target, i.unit) + "</span>").join(" ");
  }
  async function load() {
    const p = period();
    const body = await Qrate.api("/api/stats/assessment?period=" + encodeURIComponent(p));
    $("#post-period").textContent = body.from + " – " + body.to;
    $("#post-exports").innerHTML = '<a href="/api/stats/assessment?period=' + encodeURIComponent(p) + '&format=csv">CSV</a>' +
      '<a href="/api/stats/assessment?period=' + encodeURIComponent(p) + '&format=xlsx">XLSX</a>';
    $("#post-weights").textContent = T.as_weights.replace("%(daily)s", body.weights.daily)
      .replace("%(periodic)s", body.weights.periodic).replace("%(n)s", body.weights.min_count);
    const head = [T.as_post, T.as_rank, T.staff, T.as_score, T.as_daily, T.as_periodic, T.served, T.ratings, T.as_indicators];
    const rows = body.rows.map((r) => [esc(r.post_name), r.rank || DASH, esc(r.staff + " " + (r.name || "")),
      r.score === null ? '<span class="muted">' + esc(T.as_unscored) + "</span>" : "<b>" + num(r.score, 1) + "</b>",
      num(r.daily_score, 1), num(r.periodic_score, 1), r.served, r.ratings, indicatorText(r.indicators)]);
    const el = $("#post-rows");
    el.innerHTML = "<thead><tr>" + head.map((h) => "<th>" + esc(h) + "</th>").join("") + "</tr></thead><tbody>" +
      (rows.length ? rows.map((r) => "<tr>" + r.map((c) => "<td>" + c + "</td>").join("") + "</tr>").join("")
        : '<tr><td colspan="' + head.length + '" class="muted">' + esc(T.no_data) + "</td></tr>") + "</tbody>";
    suggest(body.from, body.to);
    if (chart) chart.destroy();
    const labels = ["0–59", "60–69", "70–79", "80–89", "90–100", T.as_unscored];
    const colors = ["#1d4ed8", "#16a34a", "#b45309", "#7c3aed", "#0f766e", "#b3261e"];
    chart = new Chart(document.getElementById("chart-posts"), {type: "bar",
      data: {labels: labels, datasets: body.distribution.map((d, i) => ({label: d.post_name,
        data: d.buckets.map((b) => b.count).concat([d.unscored]), backgroundColor: colors[i % colors.length]}))},
      options: {animation: false, scales: {y: {beginAtZero: true, ticks: {precision: 0}, title: {display: true, text: T.as_clerks}}}}});
  }
  async function suggest(from, to) {
    const body = await Qrate.api("/api/training/suggestions?from=" + from + "&to=" + to);
    const el = $("#training-rows");
    const head = [T.staff, T.as_post, T.tr_weak, T.tr_reasons, T.tr_items];
    const rows = body.staff.filter((r) => r.items.length).map((r) => [esc(r.staff + " " + (r.name || "")), esc(r.post_name),
      indicatorText(r.weak), esc(r.low_reasons.map((x) => (T.reasons[x.reason] || x.reason) + " ×" + x.count).join("，")),
      r.items.map((i) => "<b>" + esc(i.name) + "</b> <span class=\"muted\">" + esc(i.kind_name + " · " + i.category_name) + "</span>").join("<br>")]);
    el.innerHTML = "<thead><tr>" + head.map((h) => "<th>" + esc(h) + "</th>").join("") + "</tr></thead><tbody>" +
      (rows.length ? rows.map((r) => "<tr>" + r.map((c) => "<td>" + c + "</td>").join("") + "</tr>").join("")
        : '<tr><td colspan="' + head.length + '" class="muted">' + esc(body.catalogue ? T.tr_none : T.tr_no_catalogue) + "</td></tr>") + "</tbody>";
  }
  // --- citizens' opinions (群众沟通反馈): answer within the hall's deadline ------------
  async function opinions() {
    const body = await Qrate.api("/api/feedback");
    const f = body.figures;
    $("#fb-figures").textContent = T.fb_figures.replace("%(received)s", f.received)
      .replace("%(answered)s", f.answered).replace("%(rate)s", Qrate.pct(f.on_time_rate));
    const head = [T.fb_left, T.fb_text, T.fb_phone, T.fb_due, T.fb_answer];
    const rows = body.feedback.map((x) => [esc(Qrate.dateTime(x.created_at)) + (x.number ? " · " + esc(x.number) : ""),
      '<span class="l">' + esc(x.text) + "</span>", x.phone ? '<span data-fb-phone="' + x.id + '">' + esc(x.phone) + "</span>" +
        (x.reply ? "" : ' <button type="button" class="link" data-fb-whole="' + x.id + '">' + esc(T.fb_show_phone) + "</button>") : "",
      '<span class="' + (x.overdue ? "flag" : "") + '">' + esc(Qrate.dateTime(x.reply_due)) + "</span>",
      x.reply ? esc(x.reply) + ' <span class="muted">' + esc(x.on_time ? T.fb_on_time : T.fb_late) + "</span>"
        : '<input data-fb="' + x.id + '" size="40" maxlength="1000"> <button type="button" data-fb-send="' + x.id + '">' + esc(T.fb_send) + "</button>"]);
    const el = $("#fb-rows");
    el.innerHTML = "<thead><tr>" + head.map((h) => "<th>" + esc(h) + "</th>").join("") + "</tr></thead><tbody>" +
      (rows.length ? rows.map((r) => "<tr>" + r.map((c) => "<td>" + c + "</td>").join("") + "</tr>").join("")
        : '<tr><td colspan="' + head.length + '" class="muted">' + esc(T.fb_none) + "</td></tr>") + "</tbody>";
  }
  document.addEventListener("click", (ev) => {
    // the list masks phones; the manager answering one opinion opens it for the whole number
    const whole = ev.target.dataset && ev.target.dataset.fbWhole;
    if (whole) {
      Qrate.api("/api/feedback/" + whole).then((one) => {
        document.querySelector('[data-fb-phone="' + whole + '"]').textContent = one.phone_full;
        ev.target.remove();
      }, () => {});
      return;
    }
    const id = ev.target.dataset && ev.target.dataset.fbSend;
    if (!id) return;
    const text = document.querySelector('input[data-fb="' + id + '"]').value.trim();
    if (text.length < 2) return;
    Qrate.api("/api/feedback/" + id + "/reply", {method: "POST", body: {reply: text}}).then(opinions, opinions);
  });
  const fbTab = document.querySelector('a[data-tab="followup"]');
  if (fbTab) fbTab.addEventListener("click", () => { opinions().catch(() => {}); });
  if (location.hash === "#followup") opinions().catch(() => {});

  const run = () => { load().catch((e) => { $("#post-weights").textContent = (e && e.message) || String(e); }); };
  form.addEventListener("submit", (ev) => { ev.preventDefault(); run(); });
  const tab = document.querySelector('a[data-tab="assess"]');
  if (tab) tab.addEventListener("click", run);
  if (location.hash === "#assess") run();
})();
