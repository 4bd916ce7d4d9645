"""Voice calls built from short clips joined on the server.

The lobby page plays ``GET /api/voice/call/A023/3.wav``: a chime, then
"请 A023 号 到 3 号窗口 办理" (and the English call when ``[voice] languages``
lists "en"). Each call is joined with sox from short clips:

* the default set, generated with espeak-ng (``cmn-latn-pinyin``: Debian 12's
  plain ``cmn`` voice reads pinyin as English) into ``DATA/voice/default/``
  at the first start;
* the hall's own recordings in ``DATA/voice/custom/`` (same names, any format
  sox reads), which replace the default clip of the same name.

Clips are trimmed of leading and trailing silence and converted to one format
(22.05 kHz, mono, 16 bit) before joining; joined calls are cached by the clips
they were made from, so a newly dropped-in recording is used at once.
See docs/voice.md.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Optional

RATE, CHANNELS, BITS = 22050, 1, 16
log = logging.getLogger("qrate.voice")
ZH_VOICE = "cmn-latn-pinyin"
EN_VOICE = "en"

ZH_DIGITS = ["ling2", "yi1", "er4", "san1", "si4", "wu3", "liu4", "qi1", "ba1", "jiu3"]
# How a Chinese hall reads the Latin letter of a ticket, spelled in pinyin.
ZH_LETTERS = {
    "A": "ei1", "B": "bi4", "C": "xi1", "D": "di4", "E": "yi4", "F": "ai2 fu1", "G": "ji4",
    "H": "ai1 qi1", "I": "ai4", "J": "zhei4", "K": "kei4", "L": "ai2 le5", "M": "ai2 mu5",
    "N": "en1", "O": "ou1", "P": "pi4", "Q": "ke4 you1", "R": "a4 er5", "S": "ai2 si5",
    "T": "ti4", "U": "you1", "V": "wei1", "W": "da2 bu5 liu5", "X": "ai2 ke4 si5",
    "Y": "wai4", "Z": "zei4",
}
EN_DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
EN_TEENS = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
            "seventeen", "eighteen", "nineteen"]
EN_TENS = {2: "twenty", 3: "thirty", 4: "forty", 5: "fifty", 6: "sixty", 7: "seventy",
           8: "eighty", 9: "ninety"}


def clip_table() -> dict[str, tuple[str, str, str]]:
    """Every default clip: name -> (voice, text, what it says, for the recording list)."""
    t: dict[str, tuple[str, str, str]] = {
        "zh/qing": (ZH_VOICE, "qing3", "请"),
        # the kiosk's spoken guidance in elder mode (docs/citizens.md)
        "zh/guide_tap_service": (ZH_VOICE, "qing3 dian3 ji1 nin2 yao4 ban4 li3 de5 ye4 wu4",
                                 "请点击您要办理的业务"),
        "zh/guide_your_number": (ZH_VOICE, "nin2 de5 hao4 ma3 shi4", "您的号码是"),
        # the same guidance for a citizen who chose English at the kiosk
        "en/guide_tap_service": (EN_VOICE, "Please tap the service you need", "Please tap the service you need"),
        "en/guide_your_number": (EN_VOICE, "Your number is", "Your number is"),
        "zh/hao": (ZH_VOICE, "hao4", "号"),
        "zh/hao_dao": (ZH_VOICE, "hao4 dao4", "号 到"),
        "zh/hao_chuangkou_banli": (ZH_VOICE, "hao4 chuang1 kou3 ban4 li3", "号窗口 办理"),
        "zh/shi": (ZH_VOICE, "shi2", "十"),
        "zh/bai": (ZH_VOICE, "bai3", "百"),
        "zh/liang": (ZH_VOICE, "liang3", "两 (两百)"),
        "en/number": (EN_VOICE, "Number", "Number"),
        "en/please_go_to_window": (EN_VOICE, "please go to window", "please go to window"),
    }
    zh_chars = "零一二三四五六七八九"
    for d, py in enumerate(ZH_DIGITS):
        t[f"zh/digit_{d}"] = (ZH_VOICE, py, zh_chars[d])
        t[f"en/digit_{d}"] = (EN_VOICE, EN_DIGITS[d], EN_DIGITS[d])
    for letter, py in ZH_LETTERS.items():
        t[f"zh/letter_{letter}"] = (ZH_VOICE, py, letter)
        t[f"en/letter_{letter}"] = (EN_VOICE, letter, letter)
    for i, word in enumerate(EN_TEENS):
        t[f"en/n_{10 + i}"] = (EN_VOICE, word, word)
    for tens, word in EN_TENS.items():
        t[f"en/n_{tens * 10}"] = (EN_VOICE, word, word)
    return t


NUMBER_RE = re.compile(r"^([A-Z]{1,2})([0-9]{3,5})$")


class BadCall(ValueError):
    """The ticket number or window cannot be spoken."""


def zh_cardinal(n: int) -> list[str]:
    """1..999 as Mandarin clips: 3 -> 三, 12 -> 十二, 20 -> 二十, 105 -> 一百零五, 200 -> 两百."""
    if not 1 <= n <= 999:
        raise BadCall(f"window {n} is outside 1-999")
    out: list[str] = []
    hundreds, rest = divmod(n, 100)
    tens, units = divmod(rest, 10)
    if hundreds:
        out += ["zh/liang" if hundreds == 2 else f"zh/digit_{hundreds}", "zh/bai"]
        if rest and tens == 0:
            out.append("zh/digit_0")
    if tens:
        if tens > 1 or hundreds:
            out.append(f"zh/digit_{tens}")
        out.append("zh/shi")
    if units:
        out.append(f"zh/digit_{units}")
    return out


def en_cardinal(n: int) -> list[str]:
    """1..99 as English words; larger windows are read digit by digit."""
    if n < 10:
        return [f"en/digit_{n}"]
    if n < 20:
        return [f"en/n_{n}"]
    if n < 100:
        tens, units = divmod(n, 10)
        return [f"en/n_{tens * 10}"] + ([f"en/digit_{units}"] if units else [])
    return [f"en/digit_{d}" for d in str(n)]


def call_clips(number: str, window: int, languages=("zh",)) -> list[str]:
    """The clip names of one call, in speaking order ('silence' and 'chime' included)."""
    if not isinstance(number, str) or not NUMBER_RE.match(number):
        raise BadCall(f"'{number}' is not a ticket number like A023")
    letters, digits = NUMBER_RE.match(number).groups()
    clips = ["chime", "silence"]
    for i, lang in enumerate(languages):
        if i:
            clips.append("silence")
        if lang == "zh":
            clips += ["zh/qing", *[f"zh/letter_{c}" for c in letters],
                      *[f"zh/digit_{d}" for d in digits],
                      "zh/hao_dao", *zh_cardinal(window), "zh/hao_chuangkou_banli"]
        elif lang == "en":
            clips += ["en/number", *[f"en/letter_{c}" for c in letters],
                      *[f"en/digit_{d}" for d in digits],
                      "en/please_go_to_window", *en_cardinal(window)]
    return clips


GUIDES = ("tap_service",)


def guide_clips(name: str, number: Optional[str] = None, lang: str = "zh") -> list[str]:
    """The kiosk's spoken guidance: "请点击您要办理的业务", or "您的号码是 A 零二三 号";
    ``lang`` "en" for a citizen who chose English ("Your number is A zero two three")."""
    if lang not in ("zh", "en"):
        raise BadCall(f"'{lang}' is not a guidance language; known: zh, en")
    if number is not None:
        m = NUMBER_RE.match(number) if isinstance(number, str) else None
        if not m:
            raise BadCall(f"'{number}' is not a ticket number like A023")
        letters, digits = m.groups()
        return ["chime", f"{lang}/guide_your_number", *[f"{lang}/letter_{c}" for c in letters],
                *[f"{lang}/digit_{d}" for d in digits], *(["zh/hao"] if lang == "zh" else [])]
    if name not in GUIDES:
        raise BadCall(f"'{name}' is not a guidance clip; known: {', '.join(GUIDES)}")
    return [f"{lang}/guide_{name}"]


def zh_text(number: str, window: int) -> str:
    """The Mandarin call as pinyin (what the default clips say), for checks and logs."""
    table = clip_table()
    return " ".join(table[c][1] for c in call_clips(number, window, ("zh",))
                    if c not in ("chime", "silence"))


class Voice:
    """The clip folders of one hall and the calls joined from them."""

    def __init__(self, data_folder: Path, languages=("zh",)):
        self.root = Path(data_folder) / "voice"
        self.default = self.root / "default"
        self.custom = self.root / "custom"
        self.cache = self.root / "cache"
        self.languages = tuple(languages)
        self._lock = threading.Lock()
        self.max_cache_bytes = 50 * 1024 * 1024  # joined calls kept ([security] voice_cache_mb)

    # -- the default set -----------------------------------------------------
    def prepare(self, names=None) -> int:
        """Generate the missing default clips (espeak-ng, sox); returns how many were made."""
        made = 0
        table = clip_table()
        self.custom.mkdir(parents=True, exist_ok=True)
        for name in list(table if names is None else names) + ["chime", "silence"]:
            path = self.default / f"{name}.wav"
            if _usable(path):
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = _tmp(path)
            if name == "chime":
                # ding-dong: two soft bell tones, a major third apart
                _run(["sox", "-n", "-r", str(RATE), "-c", "1", "-b", "16", str(tmp),
                      "synth", "0.5", "sine", "659.3", "fade", "q", "0.01", "0.5", "0.4",
                      "vol", "0.45", "pad", "0", "0.05"])
                second = _tmp(path, "b")
                _run(["sox", "-n", "-r", str(RATE), "-c", "1", "-b", "16", str(second),
                      "synth", "0.8", "sine", "523.3", "fade", "q", "0.01", "0.8", "0.7",
                      "vol", "0.45"])
                joined = _tmp(path, "j")
                _run(["sox", str(tmp), str(second), str(joined)])
                joined.replace(path)
                tmp.unlink()
                second.unlink()
            elif name == "silence":
                _run(["sox", "-n", "-r", str(RATE), "-c", "1", "-b", "16", str(tmp),
                      "trim", "0", "0.35"])
                tmp.replace(path)
            else:
                voice, text, _ = table[name]
                raw = _tmp(path, "raw")
                _run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(raw), text])
                _run(["sox", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(tmp)])
                raw.unlink()
                tmp.replace(path)
            made += 1
        return made

    def clip_path(self, name: str) -> Path:
        """The hall's own recording if there is one, else the default clip."""
        if self.custom.exists():
            for found in sorted(self.custom.glob(f"{name}.*")):
                if found.is_file() and not found.name.endswith(".tmp.wav"):
                    return found
        path = self.default / f"{name}.wav"
        if not _usable(path):
            self.prepare([name] if name not in ("chime", "silence") else [])
        return path

    def _normalised(self, name: str) -> Path:
        """The clip trimmed of silence and in the common format (cached by source and mtime)."""
        src = self.clip_path(name)
        if name == "silence":
            return src
        st = src.stat()
        key = hashlib.sha1(f"{src}|{st.st_mtime_ns}|{st.st_size}".encode()).hexdigest()[:16]
        out = self.cache / "norm" / f"{name.replace('/', '_')}-{key}.wav"
        if not _usable(out):
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = _tmp(out)
            effects = [] if name == "chime" else [
                "silence", "1", "0.02", "0.5%", "reverse", "silence", "1", "0.02", "0.5%",
                "reverse", "pad", "0.03", "0.05"]
            _run(["sox", str(src), "-r", str(RATE), "-c", str(CHANNELS), "-b", str(BITS),
                  str(tmp), *effects])
            _keep(tmp, out)
        return out

    # -- calls ---------------------------------------------------------------
    def guide(self, name: str, number: Optional[str] = None, lang: str = "zh") -> Path:
        """A spoken guidance (guide_clips) joined as one WAV file, cached like a call."""
        return self._joined(guide_clips(name, number, lang), f"guide-{lang}-{number or name}")

    def _joined(self, names: list[str], tag: str) -> Path:
        with self._lock:
            parts = [self._normalised(n) for n in names]
            key = hashlib.sha1("|".join(str(p) for p in parts).encode()).hexdigest()[:12]
            out = self.cache / "calls" / f"{tag}-{key}.wav"
            if not out.exists():
                out.parent.mkdir(parents=True, exist_ok=True)
                tmp = _tmp(out)
                _run(["sox", *[str(p) for p in parts], str(tmp)])
                tmp.replace(out)
            return out

    def call(self, number: str, window: int) -> Path:
        """The joined call as a WAV file (built once per set of clips)."""
        names = call_clips(number, window, self.languages)
        with self._lock:
            parts = [self._normalised(n) for n in names]
            key = hashlib.sha1("|".join(str(p) for p in parts).encode()).hexdigest()[:12]
            out = self.cache / "calls" / f"{number}-{window}-{'-'.join(self.languages)}-{key}.wav"
            if not _usable(out):
                out.parent.mkdir(parents=True, exist_ok=True)
                tmp = _tmp(out)
                _run(["sox", *[str(p) for p in parts], str(tmp)])
                _keep(tmp, out)
                self.trim_calls(keep=out)
            else:
                os.utime(out)  # recently used: the last to go when the cache is trimmed
            return out

    def trim_calls(self, keep: Optional[Path] = None) -> int:
        """Delete the least recently used joined calls until the cache fits ``max_cache_bytes``;
        returns how many went. The clips they are joined from are never deleted."""
        folder = self.cache / "calls"
        files = []
        for f in folder.glob("*.wav"):
            try:
                st = f.stat()
            except FileNotFoundError:
                continue
            files.append((st.st_mtime, st.st_size, f))
        total = sum(size for _, size, _ in files)
        gone = 0
        for _, size, f in sorted(files, key=lambda x: x[0]):
            if total <= self.max_cache_bytes:
                break
            if f == keep:
                continue
            f.unlink(missing_ok=True)
            total -= size
            gone += 1
        return gone


WAV_HEADER = 44  # a clip no longer than its header is empty (a full disk cut it short)


def _usable(path: Path) -> bool:
    """A cached clip worth playing: present and longer than a WAV header. An empty clip
    (written while the disk was full) is made again, never served for good."""
    try:
        return path.stat().st_size > WAV_HEADER
    except OSError:
        return False


def _keep(tmp: Path, out: Path) -> None:
    """Move a new clip into the cache, only when it holds sound."""
    if not _usable(tmp):
        tmp.unlink(missing_ok=True)
        raise OSError(28, f"{out.name}: sox wrote an empty clip (is the disk full?)")
    tmp.replace(out)


def _tmp(path: Path, tag: str = "") -> Path:
    """A private temporary name beside path (two builders never share one)."""
    return path.with_name(f"{path.stem}.{os.getpid()}-{threading.get_ident()}{tag}.tmp.wav")


def _run(cmd: list[str]) -> None:
    if shutil.which(cmd[0]) is None:
        raise RuntimeError(f"{cmd[0]} is not installed; install the Debian package "
                           f"{'espeak-ng' if cmd[0] == 'espeak-ng' else 'sox'}")
    subprocess.run(cmd, check=True, capture_output=True, timeout=30)


def duration_s(path: Path) -> float:
    """Length of an audio file in seconds (soxi)."""
    out = subprocess.run(["soxi", "-D", str(path)], check=True, capture_output=True, text=True)
    return float(out.stdout.strip())


# --- at start ----------------------------------------------------------------

def for_hall(cfg) -> Voice:
    """The hall's voice: the languages of [voice] languages (zh, en) over its data folder."""
    langs = cfg.raw.get("voice", {}).get("languages", ["zh"])
    v = Voice(cfg.data_folder, [x for x in langs if x in ("zh", "en")] or ["zh"])
    v.max_cache_bytes = int(float(cfg.raw.get("security", {}).get("voice_cache_mb", 50)) * 1024 * 1024)
    return v


def prepare_in_background(v: Voice) -> Optional[threading.Thread]:
    """At the first start, generate the default clips without holding up the server."""
    missing = [n for n in list(clip_table()) + ["chime", "silence"]
               if not (v.default / f"{n}.wav").exists()]
    if not missing:
        return None
    th = threading.Thread(target=_prepare_quietly, args=(v,), name="voice-prepare", daemon=True)
    th.start()
    return th


def _prepare_quietly(v: Voice) -> None:
    try:
        v.prepare()
    except Exception:  # noqa: BLE001 - a missing espeak-ng must not stop the hall
        log.exception("could not generate the default voice clips")
