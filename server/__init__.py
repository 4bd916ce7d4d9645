"""qrate: the queue-and-rating system of a public service hall.

``create_app`` is the one place that wires configuration, storage, the
service layer, the API, Socket.IO, the device hub and the page blueprints.
Nothing happens at import time.
"""
from __future__ import annotations

__version__ = "0.1.0"


def create_app(config: dict | None = None):
    """Build the hall's Flask app: defaults, then DIR/hall.toml, then ``config``.

    config keys: HALL (the hall folder), HALL_OVERRIDES (a dict merged over
    hall.toml), CLOCK (a callable giving the time, for tests), ASYNC_MODE
    ('threading' or 'gevent'), START_DEVICES (run device workers).
    """
    import os
    import secrets
    from pathlib import Path

    from flask import Flask

    from . import api, config as hallconfig, i18n, realtime, store
    from .hall import Hall

    config = dict(config or {})
    folder = Path(config.pop("HALL", None) or os.environ.get("QRATE_HALL") or ".")
    cfg = hallconfig.load(folder, config.pop("HALL_OVERRIDES", None))
    store.open_and_migrate(cfg.db_path)

    app = Flask(__name__)
    key_file = cfg.data_folder / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
    app.config.update(SECRET_KEY=key_file.read_text().strip(), MAX_CONTENT_LENGTH=64 * 1024,
                      VERSION=__version__, SESSION_COOKIE_SAMESITE="Lax",
                      PERMANENT_SESSION_LIFETIME=60 * 60 * 24 * 180)
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    async_mode = config.pop("ASYNC_MODE", "threading")
    start_devices = config.pop("START_DEVICES", False)
    from .clock import from_environment
    test_clock = from_environment()
    clock = config.pop("CLOCK", None) or test_clock
    if clock is test_clock and test_clock is not None:
        app.logger.warning("QRATE_TEST_NOW: the hall clock is a test clock at %s", clock().isoformat())
    hall = Hall(cfg, clock=clock)
    app.config.update(config)
    app.extensions["qrate"] = hall
    app.extensions["qrate_config"] = cfg

    i18n.init_app(app)
    api.register_errors(app)
    app.register_blueprint(api.bp)
    from kiosk import bp as kiosk_bp, status_bp
    from display import bp as display_bp
    app.register_blueprint(kiosk_bp)
    app.register_blueprint(status_bp)
    app.register_blueprint(display_bp)
    from kiosk.pad import bp as pad_bp
    app.register_blueprint(pad_bp)
    from . import ratings
    ratings.init_app(app, hall)
    from .console import bp as console_bp
    app.register_blueprint(console_bp)
    sio = realtime.init_app(app, hall, async_mode)
    app.extensions["qrate_socketio"] = sio
    from . import manage
    manage.init_app(app, sio)

    from devices import hub
    app.extensions["qrate_devices"] = hub.DeviceHub(app, hall, cfg, start=start_devices)
    if start_devices or async_mode == "gevent":
        from . import voice
        voice.prepare_in_background(app)  # the default clips, at the first start

    @app.get("/")
    def index():
        from flask import redirect
        return redirect("/display")

    @app.get("/healthz")
    def healthz():
        return {"ok": True, "version": __version__}

    return app
