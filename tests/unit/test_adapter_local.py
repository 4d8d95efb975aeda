"""The local (emulator) adapter: the AIML shape, model minimax/music-2.6, no key."""

from __future__ import annotations

from collections.abc import Callable

from minimax_nb.models import Job, JobStatus, MusicRequest
from minimax_nb.providers import get_adapter
from minimax_nb.providers.aimlapi import AimlapiAdapter
from minimax_nb.providers.base import HttpResponse
from minimax_nb.providers.local import LocalAdapter

MakeResponse = Callable[..., HttpResponse]


def test_local_is_the_aiml_shape_without_a_key() -> None:
    a = get_adapter("local")
    assert isinstance(a, LocalAdapter) and isinstance(a, AimlapiAdapter)
    assert a.name == "local" and a.env_key == "" and a.default_base_url == ""
    assert a.default_model == "minimax/music-2.6" and next(iter(a.models)) == "minimax/music-2.6"
    assert not a.blocking_submit


def test_local_round_trip(resp: MakeResponse) -> None:
    a = get_adapter("local")
    req = MusicRequest(lyrics="[Verse]\nHello world", style="pop")
    http = a.build_submit(req)
    assert http.json == {"model": "minimax/music-2.6", "prompt": "pop", "lyrics": "[Verse]\nHello world"}
    job = a.parse_submit(
        Job(provider="local", request=req),
        resp(200, {"id": "g1", "status": "queued", "meta": {"usage": {"credits_used": 0, "usd_spent": 0}}}),
    ).job
    assert job.status is JobStatus.QUEUED and job.model == "minimax/music-2.6"
    done = a.parse_poll(
        job,
        resp(
            200,
            {
                "id": "g1",
                "status": "completed",
                "audio_file": {"url": "http://127.0.0.1:1/files/local/g1.mp3"},
            },
        ),
    )
    assert done.status is JobStatus.COMPLETED and done.audio_url is not None
    assert done.provider == "local"


def test_local_errors_name_the_local_provider(resp: MakeResponse) -> None:
    a = get_adapter("local")
    try:
        a.raise_for_error(resp(401, {"statusCode": 401, "message": "Unauthorized", "error": "Unauthorized"}))
    except Exception as e:
        assert getattr(e, "provider", None) == "local"
    else:
        raise AssertionError("expected an error")
