"""The production server: gevent's WSGI server, one process, WebSocket through
simple-websocket. See docs/architecture.md for why."""
from __future__ import annotations

import logging
import signal
import socket
import sys

from gevent.pywsgi import WSGIHandler, WSGIServer


class NoDelayHandler(WSGIHandler):
    """gevent leaves Nagle on; every small push and keep-alive answer would wait ~40 ms."""

    def handle(self):
        try:
            self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        return super().handle()


def run(app, host: str, port: int, ready=None) -> None:
    log = logging.getLogger("qrate.server")
    server = WSGIServer((host, port), app, handler_class=NoDelayHandler, log=None,
                        error_log=log)
    server.init_socket()
    hub = app.extensions["qrate_devices"]
    hub.start()

    def stop(*_):
        hub.stop()
        server.stop(timeout=2)

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            signal.signal(sig, stop)
        except (ValueError, OSError):  # pragma: no cover - not the main thread
            pass
    if ready:
        ready(server.server_port)
    try:
        server.serve_forever()
    finally:
        app.extensions["qrate"].close()
        sys.stdout.flush()
