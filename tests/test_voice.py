"""Voice calls: short clips joined on the server into a real Mandarin call."""
from __future__ import annotations

import subprocess

import pytest

from server import voice
from server.voice import Voice, call_clips, duration_s, zh_cardinal


def zh(names):
    table = voice.clip_table()
    return "".join(table[n][2].split(" ")[0] for n in names)


@pytest.mark.parametrize("n, spoken", [(1, "一"), (3, "三"), (10, "十"), (12, "十二"), (20, "二十"),
                                       (35, "三十五"), (100, "一百"), (105, "一百零五"),
                                       (110, "一百一十"), (200, "两百")])
@pytest.mark.unit
def test_window_numbers_are_read_as_cardinals(n, spoken):
    assert zh(zh_cardinal(n)) == spoken


@pytest.mark.unit
def test_a_call_reads_the_ticket_digit_by_digit_and_the_window_as_a_cardinal():
    clips = call_clips("A023", 12)
    assert clips[:2] == ["chime", "silence"]
    assert zh(clips[2:]) == "请A零二三号十二号窗口"
    assert clips[-1] == "zh/hao_chuangkou_banli"


@pytest.mark.unit
def test_a_two_letter_code_and_a_fourth_digit_are_read_out():
    assert zh(call_clips("AB023", 4)[2:]) == "请AB零二三号四号窗口"
    assert zh(call_clips("A1000", 4)[2:]) == "请A一零零零号四号窗口"


@pytest.mark.unit
@pytest.mark.parametrize("bad", ["a023", "A23", "ABC123", "A0234x", "", "../x"])
def test_a_malformed_number_is_refused(bad):
    with pytest.raises(voice.BadCall):
        call_clips(bad, 3)


def sox_stat(path) -> dict:
    out = subprocess.run(["sox", str(path), "-n", "stat"], capture_output=True, text=True).stderr
    return {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in out.splitlines() if ":" in line)}


@pytest.mark.api
def test_the_spoken_call_is_real_mandarin_audio_of_plausible_length(tmp_path):
    v = Voice(tmp_path)
    path = v.call("A023", 3)
    info = subprocess.run(["soxi", str(path)], capture_output=True, text=True, check=True).stdout
    assert "Sample Rate    : 22050" in info and "Channels       : 1" in info
    # chime (~1.4 s) + 14 syllables of speech: about 5-9 s in all
    length = duration_s(path)
    assert 4.5 < length < 10, length
    stat = sox_stat(path)
    assert float(stat["RMS     amplitude"]) > 0.03  # sound, not silence
    assert float(stat["Maximum amplitude"]) < 1.0  # not clipped
    # the speech after the chime is as long as the clips it is made of
    speech = [v._normalised(n) for n in call_clips("A023", 3) if n not in ("chime", "silence")]
    assert abs(sum(duration_s(p) for p in speech) - (length - duration_s(v._normalised("chime"))
                                                      - duration_s(v.clip_path("silence")))) < 0.05
    # Mandarin: the clips' voice reads the pinyin as tonal Mandarin syllables, where
    # Debian's plain `cmn` voice would read it as English letters
    text = voice.zh_text("A023", 3)
    assert text.split()[0] == "qing3" and "san1" in text and "chuang1" in text
    ipa = subprocess.run(["espeak-ng", "-v", voice.ZH_VOICE, "-q", "--ipa", text],
                         capture_output=True, text=True, check=True).stdout
    tones = sum(ch in "12345ɜ" for ch in ipa)
    assert tones >= 12, ipa  # one tone mark per syllable
    assert "tɕh" in ipa and "ts.hw" in ipa  # 请 qǐng, 窗 chuāng


@pytest.mark.api
def test_a_halls_own_recording_replaces_the_default_clip(tmp_path):
    v = Voice(tmp_path)
    before = duration_s(v.call("B105", 7))
    own = v.custom / "zh" / "qing.wav"
    own.parent.mkdir(parents=True, exist_ok=True)
    # a 44.1 kHz stereo "recording" of 1.2 s: converted and joined like the rest
    subprocess.run(["sox", "-n", "-r", "44100", "-c", "2", str(own), "synth", "1.2", "sine", "300"],
                   check=True)
    after_path = v.call("B105", 7)
    assert v.clip_path("zh/qing") == own
    assert duration_s(after_path) > before + 0.5
    assert "Channels       : 1" in subprocess.run(["soxi", str(after_path)], capture_output=True,
                                                    text=True).stdout


@pytest.mark.api
def test_the_voice_api_serves_the_call_as_wav(client, accounts):
    r = client.get("/api/voice/call/A001/3.wav")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "unknown_ticket_number"
    assert client.post("/api/tickets", json={"service": "A"},
                       headers=accounts.device("kiosk")).get_json()["number"] == "A001"
    r = client.get("/api/voice/call/A001/3.wav")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_called_there"
    assert client.post("/api/windows/3/call-next", headers=accounts.clerk(3)).status_code == 200
    assert client.get("/api/voice/call/A001/2.wav").get_json()["error"]["code"] == "not_called_there"
    r = client.get("/api/voice/call/A001/3.wav")
    assert r.status_code == 200 and r.mimetype == "audio/wav"
    assert r.data[:4] == b"RIFF" and len(r.data) > 22050 * 2 * 3
    r = client.get("/api/voice/call/a023/3.wav")
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "bad_number"
    r = client.get("/api/voice/call/A001/99.wav")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "unknown_window"


@pytest.mark.api
def test_the_voice_route_is_in_the_openapi_document(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert any(p.startswith("/api/voice/call/") or p.startswith("/voice/call/") for p in paths)


@pytest.mark.unit
def test_english_follows_mandarin_when_the_hall_asks_for_it():
    clips = call_clips("B105", 21, ("zh", "en"))
    en = clips[clips.index("zh/hao_chuangkou_banli") + 1:]
    assert en == ["silence", "en/number", "en/letter_B", "en/digit_1", "en/digit_0", "en/digit_5",
                  "en/please_go_to_window", "en/n_20", "en/digit_1"]
    assert voice.en_cardinal(12) == ["en/n_12"] and voice.en_cardinal(7) == ["en/digit_7"]
