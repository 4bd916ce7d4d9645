"""The production server: gevent's WSGI server, one process, WebSocket through
simple-websocket. See docs/architecture.md for why."""
from __future__ import annotations

import logging
from datetime import datetime
import signal
import socket
import sys
from logging.handlers import RotatingFileHandler

import gevent
from gevent.pywsgi import WSGIHandler, WSGIServer


class BindFailed(Exception):
    """The address cannot be listened on (a port in use, a host not of this PC)."""

    def __init__(self, host: str, port: int, reason: str):
        super().__init__(f"{host}:{port}: {reason}")
        self.host, self.port, self.reason = host, port, reason


class NoDelayHandler(WSGIHandler):
    """gevent leaves Nagle on; every small push and keep-alive answer would wait ~40 ms.

    A WebSocket ends its connection: without that, the client's closing frame is read
    as the next HTTP request and logged as "Invalid HTTP method"."""

    def handle(self):
        try:
            self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        return super().handle()

    def handle_one_response(self):
        try:
            return super().handle_one_response()
        finally:
            if (self.environ or {}).get("HTTP_UPGRADE", "").lower() == "websocket":
                self.close_connection = True


def setup_logging(folder) -> None:
    """Log to DATA/logs/qrate.log (rotated, 10 x 5 MB) and to stderr."""
    logs = folder / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    file_handler = RotatingFileHandler(logs / "qrate.log", maxBytes=5_000_000, backupCount=10,
                                       encoding="utf-8")
    file_handler.setFormatter(fmt)
    stream = logging.StreamHandler()
    stream.setFormatter(fmt)
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    root.handlers[:] = [file_handler, stream]


def hall_time(tz) -> None:
    """Log records carry the hall's time, as every page shows it (not the PC's zone)."""
    for handler in logging.getLogger().handlers:
        if handler.formatter is not None:
            handler.formatter.converter = lambda ts: datetime.fromtimestamp(ts, tz).timetuple()


def run(app, host: str, port: int, ready=None) -> None:
    cfg = app.extensions["qrate_config"]
    setup_logging(cfg.data_folder)
    hall_time(cfg.tz)
    log = logging.getLogger("qrate.server")
    server = WSGIServer((host, port), app, handler_class=NoDelayHandler, log=None,
                        error_log=log)
    try:
        server.init_socket()
    except OSError as exc:  # one line for the hall's IT person, not a traceback
        raise BindFailed(host, port, exc.strerror or str(exc)) from None
    app.extensions["qrate_serving"] = {"host": host, "port": server.server_port}  # PUT /api/config says
    hub = app.extensions["qrate_devices"]
    hub.start()

    def shutdown():
        hub.stop()
        server.stop(timeout=2)

    def stop(*_):
        # Never stop in the signal handler itself: it interrupts whatever the loop was
        # doing, perhaps holding the thread pool's queue lock that stopping needs
        # (a SIGTERM then hung the server for good). A greenlet of its own does it.
        gevent.spawn(shutdown)

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            gevent.signal_handler(sig, stop)  # run from the loop, between greenlets
        except (AttributeError, ValueError, OSError, NotImplementedError):  # pragma: no cover - Windows
            signal.signal(sig, stop)
    log.info("serving on %s:%s", host, server.server_port)
    if ready:
        ready(server.server_port)
    try:
        server.serve_forever()
    finally:
        app.extensions["qrate_reader"].close()
        app.extensions["qrate"].close()
        sys.stdout.flush()
