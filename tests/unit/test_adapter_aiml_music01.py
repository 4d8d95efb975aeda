"""AIML API's ``music-01`` route (confirmed in AIML's docs, ``aimlapi/api-docs``
``docs/api-references/music-models/MiniMax/music-01.md`` and ``music-01-pair.json``): the adapter's request
and answer parsing, and the emulator's upload + blocking generate driven end to end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from minimax_nb import errors as E
from minimax_nb.models import Job, JobStatus, MusicRequest
from minimax_nb.providers.aimlapi import AimlapiAdapter
from minimax_nb.providers.base import HttpResponse, errors_only

emulator = pytest.importorskip("minimax_nb.emulator")

LYRICS = "##Side by side, through thick and thin,\n\nWith a laugh, we always win.##"


def test_music01_needs_a_reference_id_and_builds_a_blocking_generate() -> None:
    a = AimlapiAdapter()
    bare = MusicRequest(lyrics=LYRICS, model="music-01")
    assert "extra" in [i.field for i in errors_only(a.validate(bare))]
    with pytest.raises(E.ValidationError):
        a.build_submit(bare)
    req = bare.replace(extra={"refer_instrumental": "instrumental-1"}, bitrate=128000)
    sub = a.build_submit(req)
    assert (sub.method, sub.path, sub.kind, sub.blocking) == (
        "POST",
        "/v2/generate/audio/minimax/generate",
        "submit",
        True,
    )
    assert sub.json == {
        "model": "music-01",
        "lyrics": LYRICS,
        "audio_setting": {"sample_rate": 44100, "bitrate": 128000, "format": "mp3"},
        "refer_instrumental": "instrumental-1",
    }
    assert a.submit_blocks("music-01")


def test_music01_answer_is_hex_audio_or_a_base_resp_error() -> None:
    a = AimlapiAdapter()
    job = Job(provider="aimlapi", request=MusicRequest(lyrics=LYRICS, model="music-01"), model="music-01")
    ok = {
        "data": {"audio": b"ID3abc".hex(), "status": 2},
        "trace_id": "t1",
        "extra_info": {"music_duration": 30000},
        "base_resp": {"status_code": 0, "status_msg": "success"},
    }
    res = a.parse_submit(job, HttpResponse(200, json.dumps(ok).encode()))
    assert res.job.status is JobStatus.COMPLETED and res.job.id == "t1" and res.job.duration_s == 30.0
    assert res.audio_bytes == b"ID3abc" and "data" not in res.job.raw
    assert a.build_poll(res.job) is None
    bad = {"trace_id": "t2", "base_resp": {"status_code": 1026, "status_msg": "input sensitive"}}
    with pytest.raises(E.ModerationError) as info:
        a.parse_submit(job, HttpResponse(200, json.dumps(bad).encode()))
    assert info.value.request_id == "t2"


@pytest.fixture(scope="module")
def emu() -> Iterator[Any]:
    e = emulator.Emulator(speed=5000, seed=2)
    yield e
    e.stop()


def test_music01_end_to_end_at_the_emulator(emu: Any) -> None:
    a = AimlapiAdapter()
    auth = {"Authorization": f"Bearer {emulator.DEFAULT_KEY}"}
    with httpx.Client(
        base_url=emu.base_url("aimlapi"), transport=emu.transport(), headers=auth, timeout=30
    ) as c:
        up = c.post(
            "/v2/generate/audio/minimax/upload",
            data={"purpose": "song"},
            files={"file": ("ref.mp3", b"ID3" + b"\x00" * 100, "audio/mpeg")},
        )
        assert up.status_code == 200, up.text
        ids = up.json()
        assert ids["voice_id"].startswith("vocal-") and ids["instrumental_id"].startswith("instrumental-")
        assert ids["base_resp"]["status_code"] == 0
        req = MusicRequest(
            lyrics=LYRICS,
            model="music-01",
            extra={"refer_voice": ids["voice_id"], "refer_instrumental": ids["instrumental_id"]},
        )
        sub = a.build_submit(req)
        r = c.request(sub.method, sub.path, json=sub.json)
        res = a.parse_submit(
            Job(provider="aimlapi", request=req, model="music-01"),
            HttpResponse(r.status_code, r.content, dict(r.headers)),
        )
        assert res.job.status is JobStatus.COMPLETED and res.audio_bytes and len(res.audio_bytes) > 1000
        # an id that was never uploaded, and no id at all, are NestJS-shaped 400s
        r = c.post(sub.path, json={"model": "music-01", "lyrics": LYRICS, "refer_voice": "vocal-nope"})
        assert r.status_code == 400 and "not uploaded" in str(r.json()["message"])
        with pytest.raises(E.ValidationError):
            a.raise_for_error(HttpResponse(r.status_code, r.content, dict(r.headers)))
        r = c.post(sub.path, json={"model": "music-01", "lyrics": LYRICS})
        assert r.status_code == 400 and "at least one" in str(r.json()["message"])
        r = c.post(
            "/v2/generate/audio/minimax/upload",
            data={"purpose": "poem"},
            files={"file": ("x.mp3", b"x", "audio/mpeg")},
        )
        assert r.status_code == 400
