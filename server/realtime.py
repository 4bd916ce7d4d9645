"""Socket.IO: a snapshot on connect, then every change as an `event` with its sequence number.

Every `event` goes to every client, so each client sees a gap-free sequence. The
snapshot is built outside the write lock and carries the seq it was read at: a
client drops every event at or below it, and asks for `snapshot` again when it
sees a gap (docs/contract.md). Rooms carry the targeted messages: `lobby` (every
client) gets `notice` when the managers' notice line changes, `window:N` (the
clerk, pad and keypad of window N) gets `window` with each event at that window,
`managers` gets `alert` (server/manage.py).
"""
from __future__ import annotations

from flask import request, session
from flask_socketio import SocketIO, emit, join_room

from . import auth


def init_app(app, ops, async_mode: str) -> SocketIO:
    # cors_allowed_origins None: browsers may connect only from the hall server's own pages.
    sio = SocketIO(app, async_mode=async_mode, cors_allowed_origins=app.config.get("CORS_ORIGINS"),
                   ping_interval=10, ping_timeout=10, json=app.json)

    presence = app.extensions.get("qrate_presence")  # server/presence.py: silent windows
    consoles: dict[str, int] = {}

    def who(data) -> auth.Principal | None:
        raw = None
        if isinstance(data, dict):
            raw = data.get("token")
        raw = raw or request.args.get("token") or session.get("token")
        if not isinstance(raw, str):
            return None
        with ops.store() as s:
            return auth.resolve(s.db, raw)

    @sio.on("connect")
    def on_connect(auth_data=None):
        join_room("lobby")
        p = who(auth_data)
        if p is not None:
            if p.role in ("manager", "admin"):
                join_room("managers")
            if p.window is not None:
                join_room(f"window:{p.window}")
            if p.role == "clerk" and p.window is not None and presence is not None:
                consoles[request.sid] = p.window  # a console open at the window
                presence.connected(p.window)
        emit("snapshot", ops.snapshot())

    @sio.on("disconnect")
    def on_disconnect(*_args):
        window = consoles.pop(request.sid, None)
        if window is not None and presence is not None:
            presence.gone(window)

    @sio.on("snapshot")
    def on_snapshot(_data=None):
        emit("snapshot", ops.snapshot())

    def push(body: dict) -> None:
        sio.emit("event", body)
        if body["type"] == "notice.changed":
            sio.emit("notice", {"text": body["text"], "at": body["at"], "by": body["by"]},
                     to="lobby")
        if body.get("window") is not None:
            sio.emit("window", body, to=f"window:{body['window']}")

    ops.subscribe(push)
    return sio
