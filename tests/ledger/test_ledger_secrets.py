"""The API key's bytes appear nowhere in the ledger's files."""

from __future__ import annotations

from pathlib import Path

from minimax_nb.errors import AuthenticationError
from minimax_nb.ledger import Ledger
from minimax_nb.models import Job, JobStatus, MusicRequest

KEY = "sk-live-7Hq2ZpX9wR4vN8mK3tY6"


def _all_bytes(tmp_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(tmp_path.rglob("*")) if p.is_file())


def test_bearer_key_in_error_text_is_scrubbed(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    err = AuthenticationError(f"server echoed the header: Authorization: Bearer {KEY}", provider="useapi")
    # an error text built from the raw message (not through MiniMaxError) must be scrubbed by the ledger
    raw_message = f"upstream said 'Bearer {KEY}' is not allowed"
    job = Job(provider="useapi", request=MusicRequest(lyrics="la la", style="pop",
                                                      extra={"note": f"Bearer {KEY}"}),
              raw={"headers": {"Authorization": f"Bearer {KEY}"}, "x-api-key": KEY,
                   "detail": [f"bearer {KEY}"]})
    led = Ledger(path)
    led.record_submitting(job)
    led.record(job.evolve(status=JobStatus.FAILED, error=raw_message))
    led.mark_unknown(job.evolve(error=str(err)), f"lost after sending Bearer {KEY}")
    stored = led.get(job.local_id)
    assert stored is not None
    assert stored.error is not None and KEY not in stored.error and "***" in stored.error
    assert "headers" not in stored.raw and "x-api-key" not in stored.raw
    # inspect the files while the WAL is still there, then after the checkpoint on close
    assert KEY.encode() not in _all_bytes(tmp_path)
    led.close()
    data = _all_bytes(tmp_path)
    assert len(data) > 4096
    assert KEY.encode() not in data
    assert b"la la" in data  # sanity: the scan does see what was stored


def test_secrets_given_to_the_ledger_are_scrubbed_without_bearer(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    job = Job(provider="aimlapi", request=MusicRequest(lyrics="x"),
              error=f"key {KEY} rejected", title=f"title {KEY}")
    with Ledger(path, secrets=[KEY]) as led:
        led.record(job)
        assert "***" in (led.get(job.local_id).error or "")  # type: ignore[union-attr]
        assert KEY not in repr(led)
    assert KEY.encode() not in _all_bytes(tmp_path)


def test_add_secret_later(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.sqlite") as led:
        led.add_secret(KEY)
        led.record(Job(provider="aimlapi", request=MusicRequest(lyrics=KEY)))
    assert KEY.encode() not in _all_bytes(tmp_path)
