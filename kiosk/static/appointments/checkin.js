// The kiosk's check-in page: a booking code typed on the on-screen keys, a QR code read
// by a keyboard-wedge scanner (keys typed faster than a person can, ending in Enter:
// captured from the whole page, no text box), or the phone's last 4 digits and the name.
// A scanned phone ticket (its status URL) is checked in too.
(function () {
  "use strict";
  var Q = window.QRATE, T = Q.T, fmt = Qrate.fmt, EN = Q.lang === "en";
  Qrate.token = Qrate.deviceToken("qrate.kiosk.token");
  var $ = function (id) { return document.getElementById(id); };
  var ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
  var code = "", phone4 = "", busy = false, timer = null;

  function show(id) {
    ["entry", "result", "refused"].forEach(function (s) { $(s).classList.toggle("hidden", s !== id); });
  }
  function renderCode() {
    var box = $("code");
    box.textContent = "";
    for (var i = 0; i < Q.codeLen; i++) {
      var c = document.createElement("span");
      c.className = "cell" + (i === code.length ? " cursor" : "");
      c.textContent = code[i] || "";
      box.appendChild(c);
    }
    $("go-code").disabled = code.length !== Q.codeLen;
  }
  function renderPhone() {
    var box = $("phone4");
    box.textContent = "";
    for (var i = 0; i < 4; i++) {
      var c = document.createElement("span");
      c.className = "cell" + (i === phone4.length ? " cursor" : "");
      c.textContent = phone4[i] || "";
      box.appendChild(c);
    }
    $("go-phone").disabled = phone4.length !== 4 || !$("name").value.trim();
  }
  function keypad(box, chars, onKey) {
    chars.split("").forEach(function (ch) {
      var b = document.createElement("button");
      b.className = "key";
      b.textContent = ch;
      b.dataset.key = ch;
      b.addEventListener("click", function () { onKey(ch); });
      box.appendChild(b);
    });
  }
  keypad($("keys"), ALPHABET, function (ch) { if (code.length < Q.codeLen) { code += ch; renderCode(); } });
  keypad($("digits"), "1234567890", function (ch) { if (phone4.length < 4) { phone4 += ch; renderPhone(); } });
  $("del").addEventListener("click", function () { code = code.slice(0, -1); renderCode(); });
  $("del4").addEventListener("click", function () { phone4 = phone4.slice(0, -1); renderPhone(); });
  $("name").addEventListener("input", renderPhone);
  function tab(which) {
    $("by-code").classList.toggle("hidden", which !== "code");
    $("by-phone").classList.toggle("hidden", which !== "phone");
    $("tab-code").classList.toggle("on", which === "code");
    $("tab-phone").classList.toggle("on", which === "phone");
    $("tab-code").setAttribute("aria-selected", which === "code");
    $("tab-phone").setAttribute("aria-selected", which === "phone");
  }
  $("tab-code").addEventListener("click", function () { tab("code"); });
  $("tab-phone").addEventListener("click", function () { tab("phone"); });

  function submit(path, body) {
    if (busy) return;
    busy = true;
    Qrate.api(path, {method: "POST", body: body})
      .then(function (t) { busy = false; done(t); })
      .catch(function (err) {
        busy = false;
        if (err.status === 401 || err.status === 403) refuse(T.noToken);
        else refuse(err.code ? err.message : T.failed);
      });
  }
  $("go-code").addEventListener("click", function () {
    submit("/api/appointments/" + encodeURIComponent(code) + "/check-in");
  });
  $("go-phone").addEventListener("click", function () {
    submit("/api/appointments/check-in", {phone_last4: phone4, name: $("name").value.trim()});
  });

  function countdown(onEnd) {
    clearInterval(timer);
    var left = Q.returnS;
    $("r-count").textContent = "(" + left + ")";
    timer = setInterval(function () {
      left -= 1;
      $("r-count").textContent = "(" + left + ")";
      if (left <= 0) { clearInterval(timer); onEnd(); }
    }, 1000);
  }
  function done(t) {
    $("r-title").textContent = t.remote ? T.remoteDone : T.done;
    $("r-number").textContent = t.number;
    $("r-badge").classList.toggle("hidden", !t.appointment);
    $("r-service").textContent = EN ? t.service_name_en : t.service_name;
    $("r-slot").textContent = t.slot_label ? fmt(T.slot, {slot: t.slot_label}) : "";
    $("r-late").textContent = t.late ? T.late : "";
    $("r-late").classList.toggle("hidden", !t.late);
    $("r-ahead").textContent = fmt(T.ahead, {n: t.waiting_ahead});
    document.body.classList.toggle("late", !!t.late);
    show("result");
    countdown(reset);
  }
  function refuse(text) {
    $("x-text").textContent = text;
    show("refused");
    clearTimeout(timer);
    timer = setTimeout(reset, 10000);
  }
  function reset() {
    clearInterval(timer); clearTimeout(timer);
    code = ""; phone4 = ""; $("name").value = "";
    renderCode(); renderPhone(); tab("code"); show("entry");
  }
  $("r-ok").addEventListener("click", reset);
  $("x-ok").addEventListener("click", reset);

  // --- the keyboard-wedge scanner -----------------------------------------------------
  // A scanner types its whole payload in a few milliseconds per key, then Enter. Keys
  // more than GAP_MS apart start a new burst; a burst of MIN_LEN or more keys ending in
  // Enter is a scan. A person's typing (slower) is never taken for one.
  var GAP_MS = 60, MIN_LEN = 6, burst = "", last = 0;
  document.addEventListener("keydown", function (ev) {
    if (ev.target && ev.target.id === "name") return;  // the name is typed in its own box
    var now = performance.now();
    if (now - last > GAP_MS) burst = "";
    last = now;
    if (ev.key === "Enter") {
      var text = burst.trim();
      burst = "";
      if (text.length >= MIN_LEN) { ev.preventDefault(); scanned(text); }
      return;
    }
    if (ev.key && ev.key.length === 1) { burst += ev.key; ev.preventDefault(); }
  }, true);

  function scanned(text) {
    if (busy) return;
    if (text.indexOf(Q.statusBase) === 0 || /\/t\/[A-Za-z0-9_-]+$/.test(text)) {
      var key = text.split("/t/").pop();
      submit("/api/status/" + encodeURIComponent(key) + "/check-in");
      return;
    }
    var c = text.toUpperCase().replace(/[^0-9A-Z]/g, "");
    if (c.length === Q.codeLen) {
      code = c; renderCode();
      show("entry");
      submit("/api/appointments/" + encodeURIComponent(c) + "/check-in");
    } else {
      refuse(T.needCode);
    }
  }

  renderCode(); renderPhone();
})();
