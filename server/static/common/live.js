/* qrate's live connection: one Socket.IO connection per page, the hall's state
 * from a snapshot, then gap-free events. Every page that listens uses this.
 *
 * The server sends `snapshot` on connect (and when asked), `event` {seq, type, ...}
 * for each change after its commit, `notice` when the lobby notice line changes and
 * `alert` (managers only) when the hall drifts from its promises.
 *
 * The rule for seq: the snapshot may be built outside the server's write lock, so it
 * carries the seq it was read at, and an event may reach us before or after it. A
 * client drops every event whose seq is at or below the snapshot's seq (the snapshot
 * already holds it); events that arrive while a snapshot is on its way are kept and
 * applied after it, in order. An event whose seq is not the last applied + 1 is a gap:
 * it is not applied, and the client asks for a fresh `snapshot`.
 *
 * While the connection is down the page is told (onStatus(false) and the classes
 * `offline`/`online` on <html>), so it never shows a figure the server may no longer
 * hold; Socket.IO reconnects by itself and the snapshot on reconnect brings the truth.
 *
 *   var live = new QrateLive({onSnapshot: fn(state, seqBefore), onEvent: fn(event, state),
 *                             onStatus: fn(online), onNotice: fn(text), onAlert: fn(alert),
 *                             token: "...", offlineDelayMs: 0});
 *   live.on("event", fn) adds another listener (the dashboard's tabs share one socket);
 *   QrateLive.shared(opts) gives the page's one connection, made on first use.
 */
(function () {
  "use strict";
  var BUFFER_MAX = 1000;  // events kept while a snapshot is on its way

  function QrateLive(opts) {
    opts = opts || {};
    this.opts = opts;
    this.seq = null;          // last seq applied; null = waiting for a snapshot
    this.state = null;
    this.online = false;
    this.everOnline = false;
    this.snapshots = 0;       // how many snapshots this page has taken (tests and hall IT read it)
    this.gaps = 0;            // how many gaps made it ask for a fresh snapshot
    this.handlers = {snapshot: [], event: [], status: [], notice: [], alert: []};
    var self = this;
    ["Snapshot", "Event", "Status", "Notice", "Alert"].forEach(function (name) {
      if (opts["on" + name]) self.on(name.toLowerCase(), opts["on" + name]);
    });
    this._pending = [];
    this._offlineTimer = null;
    var token = opts.token !== undefined ? opts.token : (window.Qrate && Qrate.token);
    var sock = io({
      // websocket first; polling when a proxy or an old browser refuses it
      transports: ["websocket", "polling"], tryAllTransports: true,
      reconnection: true, reconnectionDelay: 300, reconnectionDelayMax: 2000,
      randomizationFactor: 0.3, timeout: 4000,
      auth: token ? {token: token} : {},
    });
    this.socket = sock;
    // online only once the snapshot is here: until then nothing true can be shown
    sock.on("disconnect", function () { self._lost(); });
    sock.on("connect_error", function () { self._lost(); });
    sock.on("snapshot", function (snap) { self._snapshot(snap); });
    sock.on("event", function (ev) { self._event(ev); });
    sock.on("notice", function (n) {
      if (self.state) self.state.hall.notice = n.text;
      self._emit("notice", [n.text, n]);
    });
    sock.on("alert", function (a) { self._emit("alert", [a]); });
    // Not connected within 3 s of loading: say so.
    setTimeout(function () { if (!self.online) { self.online = null; self._status(false); } }, 3000);
    // A page that is alive but hears nothing (a silent network drop) learns it from
    // engine.io's ping timeout (ping every 10 s): Socket.IO then fires `disconnect`.
  }

  QrateLive.prototype.on = function (name, fn) {
    this.handlers[name].push(fn);
    return this;
  };

  QrateLive.prototype._emit = function (name, args) {
    var self = this;
    this.handlers[name].forEach(function (fn) { fn.apply(self, args); });
  };

  QrateLive.prototype._lost = function () {
    this.seq = null;
    this._pending = [];
    var self = this, delay = this.opts.offlineDelayMs || 0;
    if (!delay) { this._status(false); return; }
    if (this._offlineTimer) return;  // already counting (connect_error repeats while down)
    this._offlineTimer = setTimeout(function () {
      self._offlineTimer = null;
      if (self.seq === null) self._status(false);
    }, delay);
  };

  QrateLive.prototype._status = function (online) {
    if (online && this._offlineTimer) { clearTimeout(this._offlineTimer); this._offlineTimer = null; }
    if (this.online === online) return;
    this.online = online;
    if (online) this.everOnline = true;
    document.documentElement.classList.toggle("offline", !online);
    document.documentElement.classList.toggle("online", online);
    this._emit("status", [online]);
  };

  /* Ask the server for the whole state again (after a gap). */
  QrateLive.prototype.resync = function () {
    this.seq = null;
    this._pending = [];
    this.gaps += 1;
    this.socket.emit("snapshot");
  };

  QrateLive.prototype._snapshot = function (snap) {
    var before = this.seq === null && this.state ? this.state.seq : null;
    // A new epoch (the database was restored from a backup): its seqs count afresh, so
    // nothing of the old state or of events buffered under it is kept.
    var newEpoch = !!(this.state && snap.epoch && this.state.epoch && snap.epoch !== this.state.epoch);
    if (newEpoch) { before = null; this.epochs = (this.epochs || 0) + 1; }
    var st = {
      epoch: snap.epoch || null, seq: snap.seq, at: snap.at, hall: snap.hall, day: snap.day, services: snap.services,
      devices: snap.devices || {}, voice: snap.voice || null, windows: {}, tickets: {}, calls: (snap.calls || []).slice(),
    };
    (snap.windows || []).forEach(function (w) { st.windows[w.number] = w; });
    (snap.tickets || []).forEach(function (t) { st.tickets[t.id] = t; });
    this.state = st;
    this.seq = snap.seq;
    this.snapshots += 1;
    this._status(true);
    this._emit("snapshot", [st, before, snap]);
    // events that came while the snapshot was on its way: those after it, in order
    var later = this._pending.filter(function (ev) {
      return ev.seq > snap.seq && (!ev.epoch || !snap.epoch || ev.epoch === snap.epoch);
    })
      .sort(function (a, b) { return a.seq - b.seq; });
    this._pending = [];
    for (var i = 0; i < later.length && this.seq !== null; i++) this._event(later[i]);
  };

  QrateLive.prototype._event = function (ev) {
    if (this.seq === null) {                    // a snapshot is on its way: keep it till then
      if (this._pending.length < BUFFER_MAX) this._pending.push(ev);
      return;
    }
    if (ev.epoch && this.state && this.state.epoch && ev.epoch !== this.state.epoch) {
      this.resync();                            // another epoch (a restore): a fresh snapshot
      return;
    }
    if (ev.seq <= this.seq) return;             // at or below the snapshot's seq: already in it
    if (ev.seq !== this.seq + 1) {              // a gap: ask for the whole truth again
      this.resync();
      return;
    }
    this.seq = ev.seq;
    var st = this.state;
    st.seq = ev.seq;
    if (ev.services) st.services = ev.services;
    if (ev.type === "device.changed" && ev.device) st.devices[ev.device] = ev;
    if (ev.window_state) st.windows[ev.window_state.number] = ev.window_state;
    if (ev.type === "config.changed" && ev.windows) {  // services, windows, the hall: all anew
      st.windows = {};
      ev.windows.forEach(function (w) { st.windows[w.number] = w; });
      if (ev.hall) st.hall = ev.hall;
    }
    if (ev.ticket) {
      var t = ev.ticket;
      if (t.status === "waiting" || t.status === "called" || t.status === "parked") {
        st.tickets[t.id] = {
          id: t.id, number: t.number, service: t.service, status: t.status,
          priority: t.priority, window: t.window, target_window: t.target_window,
          issued_at: t.issued_at, called_at: t.called_at, recalls: t.recalls,
          appointment: !!t.appointment, checked_in: t.checked_in !== false, queue_at: t.queue_at || t.issued_at,
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
        st.windows[t.window].current = {id: t.id, number: t.number, called_at: t.called_at};
      }
    }
    if (ev.type === "ticket.called" || ev.type === "ticket.recalled") {
      st.calls.unshift({seq: ev.seq, type: ev.type, at: ev.at, ticket: ev.ticket.id,
                        window: ev.window, number: ev.ticket.number, appointment: !!ev.ticket.appointment});
      st.calls = st.calls.slice(0, 10);
    }
    this._emit("event", [ev, st]);
  };

  /* helpers the pages share */
  QrateLive.ticketsOf = function (st) {
    return Object.keys(st.tickets).map(function (k) { return st.tickets[k]; });
  };

  var shared = null;
  QrateLive.shared = function (opts) {
    if (!shared) shared = window.qrateLive = new QrateLive(opts);
    return shared;
  };

  window.QrateLive = QrateLive;
})();
