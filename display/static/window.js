/* The window screen: this window's current number and status. */
(function () {
  "use strict";
  var Q = window.QRATE, T = Q.T, N = Q.window;
  var $ = function (id) { return document.getElementById(id); };
  var stage = $("stage");
  function fit() { stage.style.transform = "scale(" + Math.min(innerWidth / 1920, innerHeight / 1080) + ")"; }
  addEventListener("resize", fit);
  fit();
  var shown = null;
  Qrate.token = Qrate.deviceToken();

  function render(st) {
    var w = st.windows[N];
    if (!w) return;
    var cur = w.current;
    var el = $("current");
    el.textContent = cur ? cur.number : "—";
    el.dataset.ticket = cur ? cur.id : "";
    var status = $("status");
    status.className = "status " + w.status;
    var key = w.status === "paused" ? "paused" : w.status === "closed" ? "closed" : cur ? "pleaseCome" : "idle";
    status.textContent = T[key];
    if (Q.EN[key]) {
      var en = document.createElement("span");
      en.className = "en";
      en.textContent = Q.EN[key];
      status.appendChild(en);
    }
    document.body.dataset.status = w.status;
    $("label").textContent = cur ? T.serving : "";
    $("clerk-name").textContent = w.clerk ? w.clerk.name : "";
    $("clerk-commit").textContent = w.clerk ? (w.clerk.commitment || "") : "";
    var callKey = cur ? cur.id + ":" + cur.called_at : null;
    if (callKey && callKey !== shown && shown !== undefined) { el.classList.remove("flash"); void el.offsetWidth; el.classList.add("flash"); }
    shown = callKey;
  }

  QrateLive.shared({
    onStatus: function (online) { $("conn-text").textContent = online ? T.online : T.offline; },
    onSnapshot: function (st) { render(st); },
    onEvent: function (ev, st) {
      render(st);
      if (ev.type === "ticket.recalled" && ev.window === N) {
        var el = $("current"); el.classList.remove("flash"); void el.offsetWidth; el.classList.add("flash");
      }
    },
  });
})();
