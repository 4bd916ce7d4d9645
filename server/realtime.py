"""Socket.IO: a snapshot on connect, then every change as an `event` with its sequence number.

Rooms: `lobby` (everyone), `window:N` (a clerk, pad or keypad of window N),
`managers`. Every `event` goes to everyone, so each client sees a gap-free
sequence; a client that sees a gap asks for `snapshot` again.
"""
from __future__ import annotations

from flask import request, session
from flask_socketio import SocketIO, emit, join_room

from . import auth


def init_app(app, hall, async_mode: str) -> SocketIO:
    # cors_allowed_origins None: browsers may connect only from the hall server's own pages.
    sio = SocketIO(app, async_mode=async_mode, cors_allowed_origins=app.config.get("CORS_ORIGINS"),
                   ping_interval=10, ping_timeout=10, json=app.json)

    def who(data) -> auth.Principal | None:
        raw = None
        if isinstance(data, dict):
            raw = data.get("token")
        raw = raw or request.args.get("token") or session.get("token")
        if not isinstance(raw, str):
            return None
        with hall.store() as s:
            return auth.resolve(s.db, raw)

    def send_snapshot():
        # Under the write lock: no event can be pushed between the snapshot's
        # read and its delivery, so the next event this client sees is seq + 1.
        with hall.lock:
            emit("snapshot", hall.snapshot())

    @sio.on("connect")
    def on_connect(auth_data=None):
        join_room("lobby")
        p = who(auth_data)
        if p is not None:
            if p.role == "manager":
                join_room("managers")
            if p.window is not None:
                join_room(f"window:{p.window}")
        send_snapshot()

    @sio.on("snapshot")
    def on_snapshot(_data=None):
        send_snapshot()

    def notify(payload: dict) -> None:
        sio.emit("event", payload)

    hall.notify = notify
    return sio
