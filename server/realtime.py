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

from flask import request
from flask_socketio import SocketIO, emit, join_room

from . import auth, privacy
from .web import session_principal

STAFF_ROLES = ("manager", "admin")  # the managers' room: every event whole
WINDOW_STAFF = ("clerk", "keypad")  # the staff room of their window


def init_app(app, ops, async_mode: str) -> SocketIO:
    # cors_allowed_origins None: browsers may connect only from the hall server's own pages.
    sio = SocketIO(app, async_mode=async_mode, cors_allowed_origins=app.config.get("CORS_ORIGINS"),
                   ping_interval=10, ping_timeout=10, json=app.json)

    def who(data) -> auth.Principal | None:
        raw = None
        if isinstance(data, dict):
            raw = data.get("token")
        raw = raw or request.args.get("token")
        with ops.store() as s:
            if isinstance(raw, str):
                return auth.resolve(s.db, raw)
            return session_principal(s.db)

    @sio.on("connect")
    def on_connect(auth_data=None):
        join_room("lobby")
        p = who(auth_data)
        # each client is in exactly one room of the event stream: `managers`, the staff
        # room of its window (clerk, keypad) or `public` (server/privacy.py)
        if p is not None and p.role in STAFF_ROLES:
            join_room("managers")
        elif p is not None and p.role in WINDOW_STAFF and p.window is not None:
            join_room(f"staff:{p.window}")
        else:
            join_room("public")
            if p is not None and p.window is not None:
                join_room(f"window:{p.window}")  # the window's pad and screen
        emit("snapshot", ops.snapshot())

    @sio.on("snapshot")
    def on_snapshot(_data=None):
        emit("snapshot", ops.snapshot())

    published = frozenset(ops.cfg.raw.get("publish", {}).get("figures", ()))
    windows = tuple(ops.cfg.windows)

    def push(body: dict) -> None:
        w = body.get("window")
        public = privacy.public_event(body, published)
        if public is body:
            sio.emit("event", body)
        else:  # the full body to its window's staff and the managers, the rest to everyone else
            sio.emit("event", body, to=["managers"] + ([f"staff:{w}"] if w in windows else []))
            sio.emit("event", public, to=["public"] + [f"staff:{n}" for n in windows if n != w])
        if body["type"] == "notice.changed":
            sio.emit("notice", {"text": body["text"], "at": body["at"]}, to="lobby")
        if w is not None:
            sio.emit("window", public, to=f"window:{w}")
            sio.emit("window", body, to=f"staff:{w}")

    ops.subscribe(push)
    return sio
