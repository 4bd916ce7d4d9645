/* qrate live state: Socket.IO snapshot, then gap-free events.
 *
 * The server sends `snapshot` on connect and `event` {seq, type, ...} for each
 * change. We keep the hall state (tickets, windows, services, calls) and fold
 * each event into it. If an event's seq is not last + 1 we drop it and ask for
 * a new snapshot. While the connection is down the page is told "offline" so
 * it can say so; socket.io reconnects by itself and the snapshot on reconnect
 * brings the truth back.
 */
(function () {
  "use strict";

  function QrateLive(opts) {
    this.opts = opts || {};
    this.seq = null;          // last seq applied; null = waiting for a snapshot
    this.state = null;
    this.online = false;
    this.everOnline = false;
    this.snapshots = 0;       // how many snapshots this page has taken (for tests and hall IT)
    var self = this;
    var params = new URLSearchParams(location.search);
    // a device page is opened once with ?token=... and keeps it
    var token = params.get("token");
    try {
      if (token) localStorage.setItem("qrate.device.token", token);
      else token = localStorage.getItem("qrate.device.token");
    } catch (e) { /* storage off: the URL must carry it */ }
    var sock = io({
      transports: ["websocket", "polling"],
      reconnection: true, reconnectionDelay: 300, reconnectionDelayMax: 2000,
      randomizationFactor: 0.3, timeout: 4000,
      auth: token ? { token: token } : undefined,
    });
    this.socket = sock;
    sock.on("connect", function () { /* wait for the snapshot before saying online */ });
    sock.on("disconnect", function () { self.seq = null; self._status(false); });
    sock.on("connect_error", function () { self.seq = null; self._status(false); });
    sock.on("snapshot", function (snap) { self._snapshot(snap); });
    sock.on("event", function (ev) { self._event(ev); });
    sock.on("notice", function (n) {
      if (self.state) { self.state.hall.notice = n.text; }
      if (self.opts.onNotice) self.opts.onNotice(n.text);
    });
    // Not connected within 3 s of loading: say so (the cover hides nothing real yet).
    setTimeout(function () { if (!self.online) { self.online = null; self._status(false); } }, 3000);
    // A page that is alive but hears nothing (a silent network drop) learns it
    // from engine.io's ping timeout (ping every 10 s): socket.io then fires
    // `disconnect` and starts reconnecting.
  }

  QrateLive.prototype._status = function (online) {
    if (this.online === online) return;
    this.online = online;
    if (online) this.everOnline = true;
    document.documentElement.classList.toggle("offline", !online);
    document.documentElement.classList.toggle("online", online);
    if (this.opts.onStatus) this.opts.onStatus(online);
  };

  QrateLive.prototype._snapshot = function (snap) {
    var before = this.seq === null && this.state ? this.state.seq : null;
    var st = {
      seq: snap.seq, hall: snap.hall, day: snap.day, services: snap.services, devices: snap.devices || {},
      windows: {}, tickets: {}, calls: snap.calls.slice(),
    };
    snap.windows.forEach(function (w) { st.windows[w.number] = w; });
    snap.tickets.forEach(function (t) { st.tickets[t.id] = t; });
    this.state = st;
    this.seq = snap.seq;
    this.snapshots += 1;
    this._status(true);
    if (this.opts.onSnapshot) this.opts.onSnapshot(st, before);
  };

  QrateLive.prototype._event = function (ev) {
    if (this.seq === null) return;              // a snapshot is on its way
    if (ev.seq <= this.seq) return;             // already in the snapshot
    if (ev.seq !== this.seq + 1) {              // a gap: ask for the whole truth again
      this.seq = null;
      this.socket.emit("snapshot");
      return;
    }
    this.seq = ev.seq;
    var st = this.state;
    st.seq = ev.seq;
    if (ev.services) st.services = ev.services;
    if (ev.type === "device.changed" && ev.device) st.devices[ev.device] = ev;
    if (ev.window_state) st.windows[ev.window_state.number] = ev.window_state;
    if (ev.ticket) {
      var t = ev.ticket;
      if (t.status === "waiting" || t.status === "called" || t.status === "parked") {
        st.tickets[t.id] = {
          id: t.id, number: t.number, service: t.service, status: t.status,
          priority: t.priority, window: t.window, target_window: t.target_window,
          issued_at: t.issued_at, called_at: t.called_at, recalls: t.recalls,
        };
      } else {
        delete st.tickets[t.id];
      }
      // the window's current ticket follows the ticket
      Object.keys(st.windows).forEach(function (n) {
        var w = st.windows[n];
        if (w.current && w.current.id === t.id && !(t.status === "called" && t.window === w.number)) {
          w.current = null;
        }
      });
      if (t.status === "called" && st.windows[t.window]) {
        st.windows[t.window].current = { id: t.id, number: t.number, called_at: t.called_at };
      }
    }
    if (ev.type === "ticket.called" || ev.type === "ticket.recalled") {
      st.calls.unshift({ seq: ev.seq, type: ev.type, at: ev.at, ticket: ev.ticket.id,
                         window: ev.window, number: ev.ticket.number });
      st.calls = st.calls.slice(0, 10);
    }
    if (this.opts.onEvent) this.opts.onEvent(ev, st);
  };

  /* helpers the pages share */
  QrateLive.fmtMinutes = function (s, T) {
    if (s === null || s === undefined) return "—";
    var m = Math.round(s / 60);
    return m < 1 ? T.lt1min : T.minutes.replace("%(n)s", m);
  };
  QrateLive.clock = function (el, tz) {
    // the hall's time, whatever time zone the screen's PC was set to
    function tick() {
      var d = new Date();
      try {
        el.textContent = d.toLocaleTimeString("en-GB", {timeZone: tz || (window.QRATE || {}).tz,
                                                        hour: "2-digit", minute: "2-digit", hour12: false});
      } catch (e) {
        el.textContent = String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
      }
    }
    tick();
    setInterval(tick, 5000);
  };
  QrateLive.ticketsOf = function (st) {
    return Object.keys(st.tickets).map(function (k) { return st.tickets[k]; });
  };

  window.QrateLive = QrateLive;
})();
