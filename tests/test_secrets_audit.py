"""Adversarial audit: an API key must never show up in a repr, str, vars, pickle, exception (and its
cause/context chain and formatted traceback), DEBUG log record, the ledger file (-wal/-shm too), the
results DataFrame (CSV/HTML), ``listen()`` HTML, widget state, or the CLI's output. Every provider,
sync and async, against the emulator on a real port. Each check looks for the exact secret bytes and a
positive control shows the check would see them."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import pickle
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from minimax_nb.client import AsyncMusicClient, MusicClient, RetryPolicy
from minimax_nb.emulator import Emulator
from minimax_nb.errors import APIConnectionError, APITimeoutError, AuthenticationError, MiniMaxError
from minimax_nb.models import MusicRequest

PROVIDERS = ("useapi", "aimlapi", "apiin", "minimax")
SPEED = 400.0
FAST = RetryPolicy(max_attempts=2, base=0.01, cap=0.02)
REQUESTS: dict[str, MusicRequest] = {
    "useapi": MusicRequest(lyrics="Audit line one\nAudit line two", style_id="pop", title="Audit"),
    "aimlapi": MusicRequest(lyrics="[Verse]\nAudit verse line\n[Chorus]\nLa la la",
                            style="bright synth-pop with female vocals", title="Audit"),
    "apiin": MusicRequest(lyrics="[Verse]\nAudit verse line", style="calm lo-fi piano", title="Audit"),
    "minimax": MusicRequest(lyrics="[Verse]\nAudit verse line", style="warm acoustic folk",
                            model="music-2.0", title="Audit"),
}


def secret_for(provider: str) -> str:
    return f"sk-AUDIT-{provider}-5f1e9c0b7a3d"


def wrong_for(provider: str) -> str:
    return f"sk-AUDIT-WRONG-{provider}-c0ffee42"


def assert_clean(blob: str | bytes, *secrets: str, where: str = "") -> None:
    data = blob.encode("utf-8", "replace") if isinstance(blob, str) else blob
    for s in secrets:
        assert s.encode() not in data, f"secret {s!r} leaked in {where}"


def test_positive_control_assert_clean_catches_a_leak() -> None:
    with pytest.raises(AssertionError):
        assert_clean(f"x Authorization: Bearer {secret_for('aimlapi')} y", secret_for("aimlapi"))
    with pytest.raises(AssertionError):
        assert_clean(pickle.dumps({"k": secret_for("apiin")}), secret_for("apiin"))


def test_positive_control_an_httpx_error_carries_the_key() -> None:
    """Why the chain matters: an httpx error keeps its request, and pickling it writes the header."""
    import httpx

    key = secret_for("minimax")
    req = httpx.Request("POST", "http://x.invalid/", headers={"Authorization": f"Bearer {key}"})
    with pytest.raises(AssertionError):
        assert_clean(exc_texts(httpx.ConnectError("refused", request=req)), key)
    wrapped = APIConnectionError("wrapped")
    wrapped.__context__ = httpx.ConnectError("refused", request=req)
    with pytest.raises(AssertionError):
        assert_clean(exc_texts(wrapped), key)


def exc_texts(exc: BaseException) -> str:
    """Everything an exception shows: str/repr/vars/pickle of it and of its whole chain, and the
    formatted traceback."""
    parts = ["".join(traceback.format_exception(exc)),  # and with every frame's locals (%xmode Verbose)
             "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format())]
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        parts += [str(e), repr(e), repr(vars(e)) if hasattr(e, "__dict__") else "", repr(e.args)]
        try:
            parts.append(repr(pickle.dumps(e)))
        except Exception as pe:  # unpicklable: its message must be clean too
            parts.append(repr(pe))
        todo += [e.__cause__, e.__context__]
    return "\n".join(parts)


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def emu() -> Iterator[Emulator]:
    keys = {p: {secret_for(p)} for p in PROVIDERS}
    with Emulator(speed=SPEED, seed=11, keys=keys, useapi_accounts=("1001",)) as e:
        yield e


def make_client(kind: str, provider: str, key: str, base_url: str, tmp_path: Path, **kw: Any) -> Any:
    cls = MusicClient if kind == "sync" else AsyncMusicClient
    kw.setdefault("account", "1001" if provider == "useapi" else None)
    kw.setdefault("ledger", tmp_path / "ledger.sqlite")
    return cls(provider, api_key=key, base_url=base_url, download_dir=tmp_path / "audio",
               emulator_speed=SPEED, retry=FAST, **kw)


def run(kind: str, client: Any, method: str, *args: Any) -> Any:
    async def go() -> Any:
        try:
            return await getattr(client, method)(*args)
        finally:
            await client.aclose() if hasattr(client, "aclose") else client.close()

    if kind == "async":
        return asyncio.run(go())
    with client:
        return getattr(client, method)(*args)


def raised(kind: str, client: Any, method: str, *args: Any) -> BaseException:
    try:
        run(kind, client, method, *args)
    except BaseException as e:
        return e
    raise AssertionError("expected an error")


def log_text(caplog: pytest.LogCaptureFixture) -> str:
    out = []
    for r in caplog.records:
        out += [r.getMessage(), repr(r.args), repr(r.msg), r.exc_text or ""]
        if r.exc_info and r.exc_info[1] is not None:
            out.append(exc_texts(r.exc_info[1]))
    return "\n".join(out)


def debug_logs(caplog: pytest.LogCaptureFixture) -> None:
    for name in ("minimax_nb", "httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=name)


def object_texts(obj: Any) -> str:
    parts = [repr(obj), str(obj), repr(vars(obj))]
    try:
        parts.append(repr(pickle.dumps(obj)))
    except Exception as e:  # unpicklable is fine; the error text must be clean
        parts.append(repr(e))
    return "\n".join(parts)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_happy_path_never_shows_the_key(provider: str, kind: str, emu: Emulator, tmp_path: Path,
                                        caplog: pytest.LogCaptureFixture) -> None:
    from minimax_nb.results import results
    from minimax_nb.results.html import listen_html

    debug_logs(caplog)
    key = secret_for(provider)
    client = make_client(kind, provider, key, emu.base_url(provider), tmp_path)
    texts = [object_texts(client), object_texts(client.adapter), object_texts(client._core)]
    job = run(kind, client, "generate", REQUESTS[provider])
    assert job.audio_path and Path(job.audio_path).exists()
    texts += [object_texts(client), repr(job), log_text(caplog)]
    assert any("HTTP Request" in r.getMessage() for r in caplog.records)  # the httpx logger was heard
    for t in texts:
        assert_clean(t, key, where=f"{provider}/{kind} client/adapter/job/logs")
    df = results(tmp_path / "ledger.sqlite", measure=False)
    assert len(df) == 1
    assert_clean(df.to_csv(), key, where="results CSV")
    assert_clean(df.to_html(), key, where="results HTML")
    assert_clean(repr(df.to_dict()), key, where="results frame")
    assert_clean(listen_html(df, embed_max_bytes=0), key, where="listen()")
    for f in tmp_path.glob("ledger.sqlite*"):
        assert_clean(f.read_bytes(), key, where=f.name)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_401_with_a_wrong_key(provider: str, kind: str, emu: Emulator, tmp_path: Path,
                              caplog: pytest.LogCaptureFixture) -> None:
    debug_logs(caplog)
    wrong = wrong_for(provider)
    client = make_client(kind, provider, wrong, emu.base_url(provider), tmp_path)
    err = raised(kind, client, "generate", REQUESTS[provider])
    assert isinstance(err, AuthenticationError), repr(err)
    assert_clean(exc_texts(err), wrong, where=f"{provider}/{kind} 401 error")
    assert_clean(log_text(caplog), wrong, where="401 logs")
    for f in tmp_path.glob("ledger.sqlite*"):
        assert_clean(f.read_bytes(), wrong, where=f.name)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_500_error(provider: str, kind: str, emu: Emulator, tmp_path: Path,
                   caplog: pytest.LogCaptureFixture) -> None:
    debug_logs(caplog)
    key = secret_for(provider)
    emu.faults.add(route="submit", provider=provider, kind="500")
    client = make_client(kind, provider, key, emu.base_url(provider), tmp_path)
    err = raised(kind, client, "generate", REQUESTS[provider])
    assert isinstance(err, MiniMaxError), repr(err)
    assert_clean(exc_texts(err), key, where=f"{provider}/{kind} 500 error")
    assert_clean(log_text(caplog), key, where="500 logs")
    for f in tmp_path.glob("ledger.sqlite*"):
        assert_clean(f.read_bytes(), key, where=f.name)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_timeout(provider: str, kind: str, emu: Emulator, tmp_path: Path,
                 caplog: pytest.LogCaptureFixture) -> None:
    debug_logs(caplog)
    key = secret_for(provider)
    emu.faults.add(route="submit", provider=provider, kind="slow", delay_s=2.0)
    client = make_client(kind, provider, key, emu.base_url(provider), tmp_path, timeout=0.2)
    err = raised(kind, client, "submit", REQUESTS[provider])
    assert isinstance(err, APITimeoutError), repr(err)
    # the httpx error (its request holds the Authorization header) is not kept on the chain
    assert err.__cause__ is None and err.__context__ is None
    assert_clean(exc_texts(err), key, where=f"{provider}/{kind} timeout")
    assert_clean(log_text(caplog), key, where="timeout logs")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_connection_refused(provider: str, kind: str, tmp_path: Path,
                            caplog: pytest.LogCaptureFixture) -> None:
    import socket

    debug_logs(caplog)
    key = secret_for(provider)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = make_client(kind, provider, key, f"http://127.0.0.1:{port}", tmp_path)
    err = raised(kind, client, "submit", REQUESTS[provider])
    assert isinstance(err, APIConnectionError), repr(err)
    assert err.__cause__ is None and err.__context__ is None
    assert_clean(exc_texts(err), key, where=f"{provider}/{kind} connection error")
    assert_clean(log_text(caplog), key, where="connection logs")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_core_without_ledger_never_pickles_the_key(provider: str, kind: str, tmp_path: Path) -> None:
    key = secret_for(provider)
    client = make_client(kind, provider, key, "http://127.0.0.1:9", tmp_path, ledger=False)
    try:
        assert client._core.has_key  # positive control: the key is there
        assert_clean(object_texts(client._core) + object_texts(client) + repr(vars(client._core)), key,
                     where="core without a ledger")
        with pytest.raises(TypeError):
            pickle.dumps(client._core)
    finally:
        if kind == "async":
            asyncio.run(client.close())
        else:
            client.close()


def test_key_in_the_error_message_from_a_server_is_scrubbed() -> None:
    """A server (or proxy) that echoes the key back: the error text must not carry it."""
    import httpx

    key = secret_for("aimlapi")

    def handler(request: httpx.Request) -> httpx.Response:
        auth = request.headers["Authorization"]
        return httpx.Response(401, json={"message": f"invalid key {key}; header was {auth}",
                                         "error": {"message": f"bad {key}"}})

    client = MusicClient("aimlapi", api_key=key, base_url="http://emu.invalid", ledger=False,
                         transport=httpx.MockTransport(handler), retry=FAST)
    err = raised("sync", client, "submit", REQUESTS["aimlapi"])  # caught where no local holds the key
    assert isinstance(err, AuthenticationError)
    assert "invalid key ***" in str(err)
    assert_clean(exc_texts(err), key, where="echoed key")
    assert isinstance(err, MiniMaxError)
    assert_clean(repr(err.body), key, where="echoed key in the error body")


def test_cli_never_prints_the_key(emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from minimax_nb import cli

    for provider, key in (("aimlapi", secret_for("aimlapi")), ("apiin", wrong_for("apiin"))):
        monkeypatch.setenv(f"MINIMAX_NB_{provider.upper()}_BASE_URL", emu.base_url(provider))
        env_var = {"aimlapi": "AIMLAPI_API_KEY", "apiin": "APIIN_API_KEY"}[provider]
        monkeypatch.setenv(env_var, key)
        monkeypatch.setenv("MINIMAX_NB_LEDGER", str(tmp_path / "cli.sqlite"))
        out, err = io.StringIO(), io.StringIO()
        code = cli.main(["generate", "--provider", provider, "--lyrics", REQUESTS[provider].lyrics or "",
                         "--style", REQUESTS[provider].style or "", "--speed", str(SPEED),
                         "-o", str(tmp_path / "out")], stdout=out, stderr=err)
        # a wrong key exits with the authentication code (issue 10), not "job failed"
        assert code == (0 if provider == "aimlapi" else cli.EXIT_AUTH), (code, out.getvalue(), err.getvalue())
        assert_clean(out.getvalue() + err.getvalue(), key, where=f"CLI {provider}")
        jobs_out = io.StringIO()
        cli.main(["jobs"], stdout=jobs_out, stderr=jobs_out)
        assert_clean(jobs_out.getvalue(), key, where="CLI jobs")
    for f in tmp_path.glob("cli.sqlite*"):
        assert_clean(f.read_bytes(), secret_for("aimlapi"), wrong_for("apiin"), where=f.name)


def _all_state(widget: Any) -> str:
    seen: set[int] = set()
    todo, out = [widget], []
    while todo:
        x = todo.pop()
        if id(x) in seen:
            continue
        seen.add(id(x))
        out.append(json.dumps(x.get_state(), default=str))
        todo += list(getattr(x, "children", ()))
        for name in x.keys:
            v = getattr(x, name)
            if hasattr(v, "get_state"):
                todo.append(v)
            elif isinstance(v, list | tuple):
                todo += [i for i in v if hasattr(i, "get_state")]
    return "\n".join(out)


def test_studio_state_after_entering_a_key(emu: Emulator, tmp_path: Path,
                                           caplog: pytest.LogCaptureFixture) -> None:
    from minimax_nb.widgets.studio import Studio

    debug_logs(caplog)
    key = secret_for("aimlapi")
    st = Studio("aimlapi", env={}, base_url=emu.base_url("aimlapi"), ledger=tmp_path / "w.sqlite",
                download_dir=tmp_path / "audio", emulator_speed=SPEED, retry=FAST)
    try:
        lw = st.launcher
        lw.key.value = key  # as if typed then Enter
        assert lw.api_key == key  # positive control: the key was really taken
        assert_clean(_all_state(st), key, where="studio widget state")
        assert_clean(repr(st) + repr(lw.settings()) + repr(st.bridge), key, where="studio reprs")
        assert_clean(repr(vars(lw)), key, where="vars of the launcher")
        st.composer.lyrics.value = REQUESTS["aimlapi"].lyrics or ""
        st.composer.style.value = REQUESTS["aimlapi"].style or ""
        lw.generate.click()
        assert st.bridge.wait_idle(60)
        runs = st.runs
        assert runs and all(r.job is not None for r in runs), [(r.state, r.error) for r in runs]
        assert_clean(_all_state(st), key, where="studio state after a run")
        assert_clean(repr(vars(st.bridge)) + repr(vars(st)), key, where="vars of the bridge/studio")
        for c in st.bridge._clients.values():
            assert_clean(object_texts(c) + object_texts(c._core), key, where="bridge client")
        assert_clean(log_text(caplog), key, where="studio logs")
        # a wrong key: the error shown in the widgets must not carry it
        wrong = wrong_for("aimlapi")
        lw.key.value = wrong
        lw.generate.click()
        assert st.bridge.wait_idle(60)
        assert_clean(_all_state(st), key, wrong, where="studio state after a 401")
        assert_clean(repr([(c, repr(e), exc_texts(e)) for c, e in st.bridge.errors]), key, wrong,
                     where="bridge errors")
        assert_clean(repr([r.error for r in st.runs]), key, wrong, where="runs")
    finally:
        st.bridge.close()
    for f in tmp_path.glob("w.sqlite*"):
        assert_clean(f.read_bytes(), key, wrong_for("aimlapi"), where=f.name)
