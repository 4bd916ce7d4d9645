/* 意见建议: leave an opinion (POST /api/feedback) and, on the status page, see the hall's
   answers (GET /api/status/{key}/feedback). The kiosk's page sends with its device cookie. */
(function () {
  "use strict";
  var box = document.getElementById("fb");
  if (!box) return;
  var key = box.dataset.key, list = document.getElementById("fb-list"), form = document.getElementById("fb-form");
  var msg = document.getElementById("fb-msg");
  function day(iso) { return Qrate.dateTime ? Qrate.dateTime(iso) : iso.slice(0, 16).replace("T", " "); }
  function render(items) {
    list.innerHTML = "";
    items.forEach(function (f) {
      var li = document.createElement("li");
      li.className = "fb-item" + (f.reply ? " answered" : "");
      var q = document.createElement("p"); q.className = "fb-q"; q.textContent = f.text;
      var a = document.createElement("p"); a.className = "fb-a";
      a.textContent = f.reply ? box.dataset.answer + "：" + f.reply : box.dataset.waiting.replace("%(due)s", day(f.reply_due));
      li.appendChild(q); li.appendChild(a); list.appendChild(li);
    });
  }
  function load() {
    if (!key) return;
    fetch("/api/status/" + encodeURIComponent(key) + "/feedback", {credentials: "omit"})
      .then(function (r) { if (r.status === 404) box.hidden = true; return r.ok ? r.json() : null; })
      .then(function (b) { if (b) render(b.feedback); });
  }
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var body = {kind: form.kind.value, text: form.text.value.trim(), phone: form.phone.value.trim()};
    if (key) body.key = key;
    document.getElementById("fb-send").disabled = true;
    fetch("/api/feedback", {method: "POST", headers: {"Content-Type": "application/json"},
                            credentials: key ? "omit" : "same-origin", body: JSON.stringify(body)})
      .then(function (r) { return r.json().then(function (j) { return {ok: r.ok, body: j}; }); })
      .then(function (res) {
        if (!res.ok) throw new Error((Qrate.en ? res.body.error.message_en : res.body.error.message) || "");
        msg.textContent = box.dataset.sent.replace("%(due)s", day(res.body.reply_due));
        msg.className = "fb-msg ok";
        form.text.value = ""; form.phone.value = "";
        load();
      })
      .catch(function (e) { msg.textContent = (e && e.message) || box.dataset.failed; msg.className = "fb-msg bad"; })
      .then(function () { document.getElementById("fb-send").disabled = false; });
  });
  load();
  setInterval(load, 60000);   // an answer shows up within a minute
})();
