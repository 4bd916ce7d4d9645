"""The spoken call as a WAV file, for the lobby and window screens (server/voice.py)."""
from __future__ import annotations

import re
import subprocess

from flask import Response, current_app, request

from .engine import N_
from .voice import BadCall
from .web import ApiError, Routes, ops

routes = Routes()
route = routes.route


@route("/voice/call/<number>/<int:window>.wav", "GET",
       "The spoken call (chime, Mandarin, English if configured) as WAV, for a ticket called to that window today",
       "anyone",
       tags=("voice",))
def voice_call(number: str, window: int):
    if window not in ops().cfg.windows:
        raise ApiError(404, "unknown_window", N_("Window %(window)s does not exist."), window=window)
    # a clip is made only for a ticket issued today: nobody fills the disk with made-up numbers
    if not re.fullmatch(r"[A-Z]{1,2}\d{3,6}", number):
        raise ApiError(422, "bad_number", N_("'%(number)s' is not a ticket number like A023."),
                       number=number[:12])
    issued, called_to = ops().number_called_today(number)
    if not issued:
        raise ApiError(404, "unknown_ticket_number", N_("No ticket %(number)s was issued today."),
                       number=number[:12])
    if called_to != window:  # one clip per call the hall made: a flood cannot fill the disk
        raise ApiError(404, "not_called_there", N_("Ticket %(number)s has not been called to window %(window)s."),
                       number=number[:12], window=window)
    try:
        # sox and espeak-ng run as child processes; under gevent the wait for
        # them is cooperative (gevent's subprocess), so no thread is needed
        path = current_app.extensions["qrate_voice"].call(number, window)
    except BadCall:
        raise ApiError(422, "bad_number", N_("'%(number)s' is not a ticket number like A023."),
                       number=number[:12])
    except (RuntimeError, subprocess.SubprocessError, OSError):
        current_app.logger.exception("voice call failed")
        raise ApiError(503, "voice_unavailable",
                       N_("The voice call could not be made; see the server log."))
    # read whole (a call is ~300 kB): no file handle outlives the request
    return Response(path.read_bytes(), mimetype="audio/wav", headers={"Cache-Control": "no-cache"})


@route("/voice/guide/<name>.wav", "GET",
       "The kiosk's spoken guidance (elder mode): `tap_service`, or `number` with ?number=A023; "
       "?lang=en for a citizen who chose English",
       "anyone", tags=("voice",))
def voice_guide(name: str):
    number = request.args.get("number") if name == "number" else None
    lang = {"en": "en", "zh": "zh", "zh-CN": "zh", "zh_CN": "zh"}.get(request.args.get("lang", "zh"), "?")
    try:
        path = current_app.extensions["qrate_voice"].guide(name, number, lang)
    except BadCall:
        raise ApiError(404, "unknown_guide", N_("There is no such spoken guidance."))
    except (RuntimeError, subprocess.SubprocessError, OSError):
        current_app.logger.exception("voice guidance failed")
        raise ApiError(503, "voice_unavailable",
                       N_("The voice call could not be made; see the server log."))
    return Response(path.read_bytes(), mimetype="audio/wav", headers={"Cache-Control": "no-cache"})
