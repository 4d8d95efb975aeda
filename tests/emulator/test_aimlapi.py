"""AIML API (and the ``local`` prefix, same shape) against PROVIDERS.md §2, the OpenAPI fragments and
docs/WIRE.md, over loopback HTTP."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from minimax_nb.emulator import Emulator
from minimax_nb.emulator import routes_aimlapi as aiml_routes

from .conftest import WRONG, FakeClock, decode, duration_of

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
LYRICS = "[Verse]\nStreetlights flicker, the night breeze sighs\n[Chorus]\nIn this small cafe, I find my way"
REF = "https://example.com/reference/song.mp3"

GOOD: dict[str, dict[str, Any]] = {
    "minimax-music": {"model": "minimax-music", "prompt": "##Side by side\n\nwe always win##",
                      "reference_audio_url": REF},
    "minimax/music-1.5": {"model": "minimax/music-1.5", "prompt": "Lo-fi pop hip-hop", "lyrics": LYRICS},
    "minimax/music-2.0": {"model": "minimax/music-2.0", "prompt": "Lo-fi hip-hop ambient", "lyrics": LYRICS,
                          "audio_setting": {"audio_sample_rate": 44100, "bitrate": 256000, "format": "mp3"}},
    "minimax/music-2.6": {"model": "minimax/music-2.6"},
    "minimax/music-cover": {"model": "minimax/music-cover", "prompt": "Gentle guitar arpeggios",
                            "reference_audio_url": REF, "audio_setting": {"sample_rate": 32000}},
}


def submit(http: httpx.Client, base: str, body: dict[str, Any]) -> httpx.Response:
    return http.post(f"{base}/v2/generate/audio", json=body)


def poll(http: httpx.Client, base: str, gid: str) -> httpx.Response:
    return http.get(f"{base}/v2/generate/audio", params={"generation_id": gid})


def wait_final(http: httpx.Client, base: str, gid: str) -> dict[str, Any]:
    for _ in range(500):
        body = poll(http, base, gid).json()
        if body["status"] in ("completed", "error"):
            return body
        time.sleep(0.01)
    raise AssertionError("never finished")


@pytest.mark.parametrize("provider", ["aimlapi", "local"])
@pytest.mark.parametrize("headers", [{}, WRONG])
def test_auth_401_shape(emu: Emulator, provider: str, headers: dict[str, str]) -> None:
    base = emu.base_url(provider)
    expected = {"statusCode": 401, "message": "Unauthorized", "error": "Unauthorized"}
    r = httpx.post(f"{base}/v2/generate/audio", json=GOOD["minimax/music-2.6"], headers=headers)
    assert (r.status_code, r.json()) == (401, expected)
    r = httpx.get(f"{base}/v2/generate/audio", params={"generation_id": "x"}, headers=headers)
    assert (r.status_code, r.json()) == (401, expected)


@pytest.mark.parametrize("model", list(GOOD))
def test_each_model_submits_and_completes(emu: Emulator, http: httpx.Client, model: str) -> None:
    base = emu.base_url("aimlapi")
    r = submit(http, base, GOOD[model])
    assert r.status_code == 200
    body = r.json()
    assert UUID.match(body["id"]) and body["status"] == "queued"
    if "music-2." in model:
        assert set(body["meta"]["usage"]) == {"credits_used", "usd_spent"}
    else:
        assert "meta" not in body
    done = wait_final(http, base, body["id"])
    assert done["status"] == "completed" and done["error"] is None and done["id"] == body["id"]
    audio = http.get(done["audio_file"]["url"])
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/mpeg"
    assert duration_of(audio.content) == pytest.approx(done["audio_file"]["duration"], rel=0.05)
    if model == "minimax/music-cover":
        assert decode(audio.content)[1] == 32000  # its sample_rate key is honoured


def test_poll_phases_and_case(slow_emu: Emulator, clock: FakeClock, http: httpx.Client) -> None:
    base = slow_emu.base_url("aimlapi")
    gid = submit(http, base, GOOD["minimax/music-2.0"]).json()["id"]
    seen = []
    for step in (1, 20, 45):
        clock.advance(step)
        body = poll(http, base, gid).json()
        seen.append(body["status"])
        if body["status"] != "completed":
            assert body["audio_file"] is None and body["error"] is None
    assert seen == ["queued", "generating", "completed"]
    assert body["audio_file"]["url"].startswith(slow_emu.url + "/files/aimlapi/")


@pytest.mark.parametrize(("body", "needle"), [
    ({"model": "minimax/music-9"}, "model must be one of"),
    ({"prompt": "x" * 20, "lyrics": LYRICS}, "model must be one of"),
    # legacy: both required, ≤600, reference must be a .wav or .mp3 URL
    ({"model": "minimax-music", "prompt": "la la la"}, "reference_audio_url should not be empty"),
    ({"model": "minimax-music", "reference_audio_url": REF}, "prompt should not be empty"),
    ({"model": "minimax-music", "prompt": "x" * 601, "reference_audio_url": REF}, "600"),
    ({"model": "minimax-music", "prompt": "la", "reference_audio_url": "https://e.c/a.ogg"}, ".wav or .mp3"),
    ({"model": "minimax-music", "prompt": "la", "reference_audio_url": "not a url.mp3"}, "URL"),
    # 1.5: prompt 10–300, lyrics 10–3000, both required
    ({"model": "minimax/music-1.5", "prompt": "x" * 9, "lyrics": LYRICS}, "longer than or equal to 10"),
    ({"model": "minimax/music-1.5", "prompt": "x" * 301, "lyrics": LYRICS}, "shorter than or equal to 300"),
    ({"model": "minimax/music-1.5", "prompt": "x" * 20}, "lyrics should not be empty"),
    ({"model": "minimax/music-1.5", "prompt": "x" * 20, "lyrics": "short"}, "lyrics must be longer"),
    # 2.0: prompt ≤2000, lyrics ≤3000, audio_setting enums
    ({"model": "minimax/music-2.0", "prompt": "x" * 2001, "lyrics": LYRICS}, "2000"),
    ({"model": "minimax/music-2.0", "prompt": "x" * 20, "lyrics": "y" * 3001}, "3000"),
    ({"model": "minimax/music-2.0", "prompt": "x" * 20, "lyrics": LYRICS,
      "audio_setting": {"audio_sample_rate": 48000}}, "audio_sample_rate must be one of"),
    ({"model": "minimax/music-2.0", "prompt": "x" * 20, "lyrics": LYRICS,
      "audio_setting": {"bitrate": 320000}}, "bitrate must be one of"),
    ({"model": "minimax/music-2.0", "prompt": "x" * 20, "lyrics": LYRICS,
      "audio_setting": {"format": "flac"}}, "format must be one of"),
    ({"model": "minimax/music-2.0", "prompt": "x" * 20, "lyrics": LYRICS,
      "audio_setting": {"sample_rate": 44100}}, "sample_rate should not exist"),
    ({"model": "minimax/music-2.0", "prompt": 12345678901, "lyrics": LYRICS}, "prompt must be a string"),
    # 2.6: only model required, but still max lengths and booleans
    ({"model": "minimax/music-2.6", "lyrics": "y" * 3001}, "3000"),
    ({"model": "minimax/music-2.6", "is_instrumental": "yes"}, "is_instrumental must be a boolean"),
    # cover: sample_rate, not audio_sample_rate; reference required
    ({"model": "minimax/music-cover", "prompt": "x" * 20, "reference_audio_url": REF,
      "audio_setting": {"audio_sample_rate": 44100}}, "audio_sample_rate should not exist"),
    ({"model": "minimax/music-cover", "prompt": "x" * 20}, "reference_audio_url should not be empty"),
    ({"model": "minimax/music-cover", "prompt": "short", "reference_audio_url": REF}, "must be longer"),
])
def test_validation_400(emu: Emulator, http: httpx.Client, body: dict[str, Any], needle: str) -> None:
    accepted = emu.submissions("aimlapi", accepted_only=True)
    r = submit(http, emu.base_url("aimlapi"), body)
    assert r.status_code == 400
    err = r.json()
    assert err["statusCode"] == 400 and err["error"] == "Bad Request"
    assert isinstance(err["message"], list)
    assert any(needle in m for m in err["message"]), err["message"]
    assert emu.submissions("aimlapi", accepted_only=True) == accepted


def test_invalid_json_400(emu: Emulator, http: httpx.Client) -> None:
    r = http.post(f"{emu.base_url('aimlapi')}/v2/generate/audio", content=b"{nope",
                  headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["statusCode"] == 400


def test_poll_errors(emu: Emulator, http: httpx.Client) -> None:
    base = emu.base_url("aimlapi")
    r = http.get(f"{base}/v2/generate/audio")
    assert r.status_code == 400 and r.json()["statusCode"] == 400
    r = poll(http, base, "00000000-0000-4000-a000-000000000000")
    assert r.status_code == 404
    assert r.json()["statusCode"] == 404 and r.json()["error"] == "Not Found"


def test_moderation_is_asynchronous(emu: Emulator, http: httpx.Client) -> None:
    base = emu.base_url("aimlapi")
    body = dict(GOOD["minimax/music-2.0"], lyrics="[Verse]\nsing the forbiddenword loud")
    r = submit(http, base, body)
    assert r.status_code == 200 and r.json()["status"] == "queued"
    done = wait_final(http, base, r.json()["id"])
    assert done["status"] == "error" and done["audio_file"] is None
    assert done["error"]["name"] == "ContentModerationError" and done["error"]["message"]


def test_post_moderated_audio_404(emu: Emulator, http: httpx.Client) -> None:
    base = emu.base_url("aimlapi")
    body = dict(GOOD["minimax/music-1.5"], lyrics="[Verse]\nthis will be postmoderated")
    done = wait_final(http, base, submit(http, base, body).json()["id"])
    assert done["status"] == "completed"
    assert http.get(done["audio_file"]["url"]).status_code == 404


@pytest.mark.parametrize(("setting", "ctype", "rate"), [
    ({"audio_sample_rate": 24000, "bitrate": 64000, "format": "wav"}, "audio/wav", 24000),
    ({"audio_sample_rate": 16000, "bitrate": 32000, "format": "mp3"}, "audio/mpeg", 16000),
])
def test_audio_setting_honoured(emu: Emulator, http: httpx.Client, setting: dict[str, Any], ctype: str,
                                rate: int) -> None:
    base = emu.base_url("aimlapi")
    body = dict(GOOD["minimax/music-2.0"], audio_setting=setting)
    done = wait_final(http, base, submit(http, base, body).json()["id"])
    url = done["audio_file"]["url"]
    assert url.split("?")[0].endswith("." + setting["format"])
    audio = http.get(url)
    assert audio.headers["content-type"] == ctype
    samples, got_rate = decode(audio.content)
    assert got_rate == rate and samples.shape[1] == 2


def test_pcm_format(emu: Emulator, http: httpx.Client) -> None:
    base = emu.base_url("aimlapi")
    body = dict(GOOD["minimax/music-2.0"], audio_setting={"audio_sample_rate": 16000, "format": "pcm"})
    done = wait_final(http, base, submit(http, base, body).json()["id"])
    raw = http.get(done["audio_file"]["url"]).content
    assert len(raw) / (16000 * 2 * 2) == pytest.approx(done["audio_file"]["duration"], rel=0.01)


def test_local_prefix_is_the_aiml_shape(emu: Emulator, http: httpx.Client) -> None:
    base = emu.base_url("local")
    assert base.endswith("/local")
    before = emu.submissions("local")
    r = submit(http, base, {"model": "minimax/music-2.6", "prompt": "folk", "lyrics": LYRICS})
    assert r.status_code == 200
    done = wait_final(http, base, r.json()["id"])
    assert done["status"] == "completed" and "/files/local/" in done["audio_file"]["url"]
    assert emu.submissions("local") == before + 1
    # ids are per provider: an AIML id is unknown under /local
    assert poll(http, emu.base_url("aimlapi"), r.json()["id"]).status_code == 404


SPECS = Path("/work/shared/specs/aimlapi-openapi")


@pytest.mark.skipif(not SPECS.exists(), reason="shared specs not present")
@pytest.mark.parametrize(("file", "model"), [
    ("minimax-music-1.5.json", "minimax/music-1.5"),
    ("minimax-music-2.0.json", "minimax/music-2.0"),
    ("minimax-music-2.6.json", "minimax/music-2.6"),
    ("minimax-music-cover.json", "minimax/music-cover"),
])
def test_model_table_matches_the_openapi_fragments(file: str, model: str) -> None:
    """The emulator's own table (not the adapter's) against each fragment: required fields, lengths, the
    audio_setting key (cover: ``sample_rate``) and its enums."""
    doc = json.loads((SPECS / file).read_text())
    body = doc["paths"]["/v2/generate/audio"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    props, required = schema["properties"], set(schema["required"])
    emu_model = aiml_routes.MODELS[model]
    fields = {f.name: f for f in emu_model.fields}
    for name in ("prompt", "lyrics", "reference_audio_url"):
        if name not in props:
            assert name not in fields
            continue
        f = fields[name]
        assert f.required == (name in required), name
        assert f.min_len == props[name].get("minLength"), name
        assert f.max_len == props[name].get("maxLength"), name
    setting = props["audio_setting"]["properties"]
    rate_key = "sample_rate" if model.endswith("cover") else "audio_sample_rate"
    assert emu_model.rate_key == rate_key and rate_key in setting
    assert set(aiml_routes.SAMPLE_RATES) == set(setting[rate_key]["enum"])
    assert set(aiml_routes.BITRATES) == set(setting["bitrate"]["enum"])
    assert set(aiml_routes.FORMATS) == set(setting["format"]["enum"])


@pytest.mark.skipif(not SPECS.exists(), reason="shared specs not present")
def test_legacy_model_matches_its_schema() -> None:
    schemas = json.loads((SPECS / "minimax-music-legacy.schemas.json").read_text())
    legacy = schemas["minimax-music.SubmitPayload"]
    fields = {f.name: f for f in aiml_routes.MODELS["minimax-music"].fields}
    assert {n for n, f in fields.items() if f.required} | {"model"} == set(legacy["required"])
    assert fields["prompt"].max_len == 600  # "Maximum 600 characters."
    assert aiml_routes.MODELS["minimax-music"].legacy_reference  # "Must be a .wav or .mp3 file"


@pytest.mark.parametrize("ref", ["https://e.c/song.WAV", "https://e.c/song.mp3?sig=abc&expires=1"])
def test_legacy_reference_checks_the_path_only(emu: Emulator, http: httpx.Client, ref: str) -> None:
    body = {"model": "minimax-music", "prompt": "##la la##", "reference_audio_url": ref}
    assert submit(http, emu.base_url("aimlapi"), body).status_code == 200


def test_audio_setting_defaults(emu: Emulator, http: httpx.Client) -> None:
    """No audio_setting: the fragments' defaults, 44100 Hz, 256000 bit/s, mp3."""
    base = emu.base_url("aimlapi")
    done = wait_final(http, base, submit(http, base, GOOD["minimax/music-1.5"]).json()["id"])
    audio = http.get(done["audio_file"]["url"])
    assert audio.headers["content-type"] == "audio/mpeg"
    assert decode(audio.content)[1] == 44100
    job = next(j for j in emu.jobs("aimlapi") if j.id == done["id"])
    assert (job.sample_rate, job.bitrate, job.fmt) == (44100, 256000, "mp3")
