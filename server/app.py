"""The hall server's app factory.

``create_app`` is the one place that wires configuration, storage, the service
layer, the read side, the API's route modules, Socket.IO, the device hub and the
page blueprints. Nothing happens at import time.
"""
from __future__ import annotations

import logging
import os
import shutil
import secrets
from pathlib import Path

from flask import Blueprint, Flask, redirect

from devices.hub import DeviceHub
from display import bp as display_bp
from kiosk import bp as kiosk_bp
from kiosk import status_bp
from kiosk.appointments import bp as book_bp
from kiosk.appointments import checkin_bp
from kiosk.appointments import door_bp
from kiosk.pad import bp as pad_bp

from . import (
    api_appointments,
    api_assessment,
    api_help,
    api_caserating,
    api_config,
    api_printing,
    forward,
    auth,
    api_queue,
    api_ratings,
    api_screens,
    api_stats,
    api_voice,
    backup,
    datalock,
    manage,
    manage_assess,
    realtime,
    security,
    store,
    voice,
    web,
    web_i18n,
)
from . import api_plan
from . import api_devices  # USB HID health from qrate agent (docs/usb-hid.md)
from . import api_prefs  # a clerk's own console language
from . import config as hall_config
from . import config_live
from .clock import from_environment
from .appointment_ops import Appointments
from .console import bp as console_bp
from .notifier import Notifier
from . import manage_appointments
from .system_page import bp as system_bp
from .device_port import DevicePort
from .operations import Operations
from .presence import Presence
from .presence import watch as watch_presence
from .readside import Reader
from .runtime import run_blocking
from .version import __version__

app_log = logging.getLogger("qrate.app")
ROUTE_MODULES = (api_queue, api_ratings, api_screens, api_stats, api_printing, api_voice, manage,
                 api_config, api_appointments, api_help)
ROUTE_MODULES += (api_plan,)  # the staffing planner (docs/planning.md)
ROUTE_MODULES += (api_assessment,)
ROUTE_MODULES += (api_caserating,)  # 一次一评 (issue 13)
ROUTE_MODULES += (api_devices, api_prefs)  # HID device health, a clerk's language (issue 11)


def _flush_seen(ops, sleep) -> None:
    """Devices' "last seen", kept in memory by each request, written once a minute."""
    while True:
        sleep(60)
        try:
            with ops.lock, ops.store() as s:
                auth.flush_seen(s.db)
        except Exception:  # noqa: BLE001 - a full or busy disk: the next minute tries again
            app_log.warning("could not write the devices' last seen", exc_info=True)


def create_app(config: dict | None = None) -> Flask:
    """Build the hall's Flask app: defaults, then DIR/hall.toml, then ``config``.

    config keys: HALL (the hall folder), HALL_OVERRIDES (a dict merged over
    hall.toml), CLOCK (a callable giving the time, for tests), ASYNC_MODE
    ('threading' or 'gevent'), START_DEVICES (run device workers), STRANDED (what a
    changed hall.toml does with waiting tickets it strands: Operations' ``resolve``).
    """
    config = dict(config or {})
    folder = Path(config.pop("HALL", None) or os.environ.get("QRATE_HALL") or ".")
    cfg = hall_config.load(folder, config.pop("HALL_OVERRIDES", None))
    store.open_and_migrate(cfg.db_path)

    app = Flask(__name__)
    key_file = cfg.data_folder / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
    datalock.secure(cfg.data_folder)  # the data folder, database and key: this user only
    app.config.update(SECRET_KEY=key_file.read_text().strip(), MAX_CONTENT_LENGTH=64 * 1024,
                      VERSION=__version__, SESSION_COOKIE_SAMESITE="Lax",
                      PERMANENT_SESSION_LIFETIME=60 * 60 * 24 * 180)
    app.session_interface = web.PagesSessionInterface()
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    async_mode = config.pop("ASYNC_MODE", "threading")
    start_devices = config.pop("START_DEVICES", False)
    report_process = config.pop("REPORT_PROCESS", async_mode == "gevent")
    test_clock = from_environment()
    clock = config.pop("CLOCK", None) or test_clock
    if clock is test_clock and test_clock is not None:
        app.logger.warning("QRATE_TEST_NOW: the hall clock is a test clock at %s", clock().isoformat())
    ops = Operations(cfg, clock=clock)
    ops.issuing_kiosk = api_printing.issuing_kiosk  # a ticket prints at the kiosk that issued it
    # the database's configuration, or a changed hall.toml imported (STRANDED: what to do with
    # waiting tickets it would strand, from `qrate serve --stranded`; else WouldStrand)
    config_live.at_start(ops, config.pop("STRANDED", None))
    app.config.update(config)
    app.extensions["qrate"] = ops
    app.extensions["qrate_config"] = cfg
    app.extensions["qrate_serving"] = dict(cfg.raw["server"])  # qrate serve sets where it listens
    app.extensions["qrate_appointments"] = appointments = Appointments(ops, secret=app.config["SECRET_KEY"])
    appointments.purge()  # personal data past the hall's retention (docs/appointments.md)
    notifier = Notifier(ops)
    ops.subscribe(notifier.listener)
    app.extensions["qrate_notifier"] = notifier
    # under `qrate serve`, reports run in a process of their own (server/readside/worker.py)
    app.extensions["qrate_reader"] = Reader(cfg.db_path, cfg, ops.now,
                                            own_process=report_process)
    ops.subscribe(config_live.reports_follow(app.extensions["qrate_reader"]))

    web_i18n.init_app(app)
    web.register_errors(app)
    security.init_app(app)  # CSRF Origin check, rate limits, headers, cookie flags
    api = Blueprint("api", __name__, url_prefix="/api")
    for module in ROUTE_MODULES:
        module.routes.register(api)
    app.extensions["qrate_api_docs"] = [doc for m in ROUTE_MODULES for doc in m.routes.docs]
    app.register_blueprint(api)
    for bp in (kiosk_bp, status_bp, display_bp, pad_bp, console_bp, manage.bp, api_config.bp,
               book_bp, checkin_bp, system_bp):
        app.register_blueprint(bp)
    app.register_blueprint(api_plan.bp)
    app.register_blueprint(manage_assess.bp)   # /manage/commitments, /manage/training (issue 15)
    app.register_blueprint(door_bp)  # the door's check-in code, read by the phone (issue 12)
    app.register_blueprint(manage_appointments.bp)  # the door's poster, the notice log

    app.extensions["qrate_presence"] = presence = Presence()
    ops.subscribe(presence.listener)
    sio = realtime.init_app(app, ops, async_mode)
    app.extensions["qrate_socketio"] = sio
    app.extensions["qrate_alerts"] = manage.Alerts(ops, app.extensions["qrate_reader"], sio)
    hub = DeviceHub(DevicePort(ops, presence), cfg, start=start_devices)
    ops.snapshot_parts.append(hub.public_state)
    with ops.store() as s:
        hall_epoch = store.epoch(s.db)  # fixed while served: a restore needs the server stopped
    voice_tools = [t for t in ("espeak-ng", "sox") if shutil.which(t) is None]
    voice_state = {"available": not voice_tools, "missing": voice_tools}
    ops.snapshot_parts.append(lambda: {"epoch": hall_epoch, "voice": voice_state})
    app.extensions["qrate_devices"] = hub
    hub.port.on_health_changed(api_devices.pusher(sio))  # serial ports and heartbeats: `device` to managers
    app.extensions["qrate_alert_sources"] = [api_devices.device_alerts]  # devices unplugged: GET /api/alerts
    app.extensions["qrate_voice"] = voice.for_hall(cfg)
    if async_mode == "gevent":
        manage.start_background(app, sio)
        sio.start_background_task(backup.run_daily, cfg, ops.now, sio.sleep, run_blocking)
        sio.start_background_task(_flush_seen, ops, sio.sleep)
        sio.start_background_task(watch_presence, ops, presence, sio.sleep)
        sio.start_background_task(config_live.serve_requests, ops, sio.sleep)  # `qrate config import` live
        notifier.start(sweep=appointments.expire_remote)
    _start_forwarder(app, ops, cfg, sio, config.pop("START_FORWARDER", async_mode == "gevent"))
    if start_devices or async_mode == "gevent":
        voice.prepare_in_background(app.extensions["qrate_voice"])  # the default clips, at the first start

    @app.get("/")
    def index():
        return redirect("/display")

    @app.get("/healthz")
    def healthz():
        return {"ok": True, "version": __version__}

    return app


def _start_forwarder(app, ops, cfg, sio, start: bool) -> None:
    """The city forwarder (server/forward.py), when hall.toml has [city] url."""
    forwarder = forward.for_hall(cfg)
    app.extensions["qrate_forwarder"] = forwarder
    if forwarder is not None and start:
        ops.subscribe(forwarder.notify)
        sio.start_background_task(forwarder.run_forever)
