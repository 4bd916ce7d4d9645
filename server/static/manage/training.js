/* Training (教育培训), /manage/training: what each clerk is suggested
 * (GET /api/training/suggestions), training given recorded (POST /api/training/records),
 * each record's figures before and after and the means per item (GET /api/training/records),
 * and the hall's catalogue. Rounding happens only here. */
(function () {
  "use strict";
  const Q = window.QRATE, T = Q.T, esc = Qrate.esc, DASH = Qrate.DASH;
  const $ = (s) => document.querySelector(s);
  const form = $("#t-form"), range = $("#t-range");
  const en = Qrate.en;
  const name = (x) => (en ? x.name_en || x.name : x.name);
  const label = (i) => (en ? i.label_en : i.label) || i.figure;
  const reason = (r) => T.reasons[r] || r;
  function say(text, bad) { const el = $("#status"); el.textContent = text; el.classList.toggle("err", !!bad); }
  function table(el, head, rows, empty) {
    el.innerHTML = "<thead><tr>" + head.map((h) => "<th>" + esc(h) + "</th>").join("") + "</tr></thead><tbody>" +
      (rows.length ? rows.map((r) => "<tr>" + r.map((c) => "<td class=\"l\">" + c + "</td>").join("") + "</tr>").join("")
        : '<tr><td colspan="' + head.length + '" class="muted">' + esc(empty) + "</td></tr>") + "</tbody>";
  }
  const kind = (i) => esc(en ? i.kind_name_en : i.kind_name), category = (i) => esc(en ? i.category_name_en : i.category_name);
  const labels = Object.fromEntries(Q.clerks.flatMap((c) => c.indicators.map((i) => [i.figure, label(i)])));

  // --- the catalogue, and the form's choices ------------------------------------------
  table($("#t-catalogue"), [T.t_item, T.t_kind, T.t_category, T.t_addresses],
    Q.catalogue.map((i) => [esc(name(i)) + ' <span class="muted">' + esc(i.code) + "</span>", kind(i), category(i),
      esc(i.figures.map((f) => labels[f] || f).concat(i.reasons.map(reason)).join("，"))]),
    T.t_no_catalogue);
  form.staff.innerHTML = Q.clerks.map((c) => '<option value="' + esc(c.staff) + '">' + esc(c.staff + " " + c.name) + "</option>").join("");
  form.item.innerHTML = Q.catalogue.map((i) => '<option value="' + esc(i.code) + '">' + esc(name(i)) + "</option>").join("");
  form.day.value = Q.today;
  form.day.max = Q.today;
  range.to.value = Q.today;
  range.from.value = Qrate.shiftDay(Q.today, -364);

  // --- suggestions --------------------------------------------------------------------
  const items = Object.fromEntries(Q.catalogue.map((i) => [i.code, i]));
  const posts = Object.fromEntries(Q.clerks.map((c) => [c.staff, en ? c.post_name_en : c.post_name]));
  async function suggestions() {
    const body = await Qrate.api("/api/training/suggestions");
    table($("#t-suggestions"), [T.t_staff, T.t_weak, T.t_reasons, T.t_suggested],
      body.staff.filter((r) => r.items.length).map((r) => [
        esc(r.staff + " " + (r.name || "")) + '<br><span class="muted">' + esc(posts[r.staff] || r.post_name) + "</span>",
        esc(r.weak.map(label).join("，")) || DASH,
        esc(r.low_reasons.map((x) => reason(x.reason) + " ×" + x.count).join("，")) || DASH,
        r.items.map((i) => '<div class="sug"><button type="button" class="ghost" data-staff="' + esc(r.staff) + '" data-item="' + esc(i.code) + '">' +
          esc(T.t_record) + "</button> <b>" + esc(name(i)) + '</b> <span class="muted">' + kind(items[i.code] || i) + " · " + category(items[i.code] || i) + "</span></div>").join("")]),
      body.catalogue ? T.t_none : T.t_no_catalogue);
  }

  // --- records with their before / after ----------------------------------------------
  const mins = (s) => (s === null || s === undefined ? DASH : (s / 60).toFixed(1));
  const score = (x) => (x === null || x === undefined ? DASH : x.toFixed(1));
  function pair(before, after, show, higherIsBetter) {
    const a = before === null || before === undefined, b = after === null || after === undefined;
    const cls = a || b || show(before) === show(after) ? "" : ((after > before) === higherIsBetter ? "up" : "down");
    return '<span class="ba"><span class="side">' + esc(show(before)) + '</span> → <span class="side ' + cls + '">' + esc(show(after)) + "</span></span>";
  }
  // the newest request draws: an older answer that comes back later (the page's first load,
  // a range asked just before a record was saved) never overwrites a newer one
  let asked = 0;
  async function records() {
    const q = "?from=" + range.from.value + "&to=" + range.to.value + "&days=" + (range.days.value || 30);
    const mine = ++asked;
    const body = await Qrate.api("/api/training/records" + q);
    if (mine !== asked) return;
    table($("#t-records"), [T.t_day, T.t_staff, T.t_item, T.t_days, T.t_services, T.t_score, T.t_service, T.t_good, T.t_satisfied, T.t_served],
      body.records.map((r) => {
        const e = r.effect, head = [esc(r.day), esc(r.staff + " " + (r.name || "")),
          esc(r.item_name) + (r.note ? '<br><span class="muted">' + esc(r.note) + "</span>" : "")];
        if (!e.days) return head.concat(['<span class="muted">' + esc(T.t_not_yet) + "</span>", "", "", "", "", "", ""]);
        const b = e.before, a = e.after;
        return head.concat([esc(String(e.days)), esc(e.services.join(", ")) || DASH,
          pair(b.score, a.score, score, true), pair(b["service_s.mean"], a["service_s.mean"], mins, false),
          pair(b.good_rate, a.good_rate, Qrate.pct, true), pair(b.satisfied_rate, a.satisfied_rate, Qrate.pct, true),
          pair(b.served, a.served, (x) => (x === null || x === undefined ? DASH : String(x)), true)]);
      }), T.t_no_records);
    table($("#t-items"), [T.t_item, T.t_given, T.t_compared, T.t_mean_before + " → " + T.t_mean_after],
      body.items.map((i) => [esc(i.name), esc(String(i.given)), esc(String(i.compared)),
        pair(i.score_before, i.score_after, score, true)]), T.t_no_records);
  }

  document.addEventListener("click", (ev) => {
    const d = ev.target.dataset;
    if (!d || !d.item || !d.staff) return;
    form.staff.value = d.staff;
    form.item.value = d.item;
    form.day.focus();
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await Qrate.api("/api/training/records", {method: "POST", body: {staff: form.staff.value, item: form.item.value,
        day: form.day.value, note: form.note.value.trim()}});
      say(Qrate.fmt(T.t_saved, {name: form.staff.selectedOptions[0].textContent}));
      form.note.value = "";
      await records();
    } catch (e) { say(e.message || T.failed, true); }
  });
  range.addEventListener("submit", (ev) => { ev.preventDefault(); records().catch((e) => say(e.message, true)); });

  // --- a mentoring pair (结对帮扶): the mentee's figures before and after the day it began --
  const mform = $("#m-form");
  const people = Q.clerks.map((c) => '<option value="' + esc(c.staff) + '">' + esc(c.staff + " " + c.name) + "</option>").join("");
  mform.mentee.innerHTML = people;
  mform.mentor.innerHTML = '<option value="">' + DASH + "</option>" + people;
  mform.day.max = Q.today;
  mform.day.value = Qrate.shiftDay(Q.today, -30);
  table($("#m-result"), [T.m_mentee], [], T.m_none);
  mform.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const q = "?staff=" + encodeURIComponent(mform.mentee.value) + "&day=" + mform.day.value +
        "&days=" + (mform.days.value || 30);
      const e = await Qrate.api("/api/training/before-after" + q);
      const who = [esc(mform.mentee.selectedOptions[0].textContent),
        mform.mentor.value ? esc(mform.mentor.selectedOptions[0].textContent) : DASH, esc(e.day)];
      const head = [T.m_mentee, T.m_mentor, T.m_since, T.t_days, T.t_services, T.t_score, T.t_service, T.t_good, T.t_satisfied, T.t_served];
      if (!e.days) {
        table($("#m-result"), head, [who.concat(['<span class="muted">' + esc(T.t_not_yet) + "</span>", "", "", "", "", "", ""])], T.m_none);
        return;
      }
      const b = e.before, a = e.after;
      table($("#m-result"), head, [who.concat([esc(String(e.days)), esc(e.services.join(", ")) || DASH,
        pair(b.score, a.score, score, true), pair(b["service_s.mean"], a["service_s.mean"], mins, false),
        pair(b.good_rate, a.good_rate, Qrate.pct, true), pair(b.satisfied_rate, a.satisfied_rate, Qrate.pct, true),
        pair(b.served, a.served, (x) => (x === null || x === undefined ? DASH : String(x)), true)])], T.m_none);
    } catch (err) { say(err.message || T.failed, true); }
  });
  suggestions().catch((e) => say(e.message || T.failed, true));
  records().catch((e) => say(e.message || T.failed, true));
})();
