"""The studio over the real catalog, clients and emulator (no fakes): local, and useapi via the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from minimax_nb.models import JobStatus
from minimax_nb.providers import validate_request
from minimax_nb.widgets import Studio, studio
from minimax_nb.widgets._catalog import Catalog


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MINIMAX_NB_LOCAL_SPEED", "50")
    monkeypatch.setenv("MINIMAX_NB_LEDGER", str(tmp_path / "ledger.sqlite"))
    for k in ("USEAPI_API_TOKEN", "AIMLAPI_API_KEY", "APIIN_API_KEY", "MINIMAX_API_KEY"):
        monkeypatch.delenv(k, raising=False)
    return tmp_path


def test_catalog_reads_the_adapters() -> None:
    cat = Catalog()
    names = cat.providers()
    assert names[0] == "local" and {"useapi", "aimlapi", "apiin", "minimax"} <= set(names)
    assert cat.env_key("apiin") == "APIIN_API_KEY" and cat.env_key("local") is None
    spec = cat.models("apiin")[cat.default_model("apiin")]
    assert spec.bitrates and spec.sample_rates
    # local: the adapter's expected time over the emulator speed the client will use
    assert cat.expected_duration_s("local", 5.0) == pytest.approx(cat.expected_duration_s("local", 10.0) * 2)


def test_composer_shows_exactly_the_validators_messages(comms, offline) -> None:  # type: ignore[no-untyped-def]
    s = Studio("apiin", env={})
    try:
        s.composer.lyrics.value = "x" * 5000
        s.composer.style.value = ""
        model = s.launcher.settings().model
        req = s.launcher.settings().apply(s.composer.request())
        issues = validate_request("apiin", req, model)
        assert issues  # too long, and a style is required there
        for i in issues:
            assert i.message.replace("'", "&#x27;").replace('"', "&quot;") in s.composer.issues.value
        assert s.launcher.generate.disabled
    finally:
        s.close()


def test_tag_line_warning_from_the_validator(comms, offline) -> None:  # type: ignore[no-untyped-def]
    s = Studio("local", env={})
    try:
        s.composer.lyrics.value = "[Verse] this text is dropped by the model\nla la"
        assert "mnb-issue-warning" in s.composer.issues.value
        assert not s.launcher.generate.disabled  # a warning never blocks
    finally:
        s.close()


@pytest.mark.slow
def test_local_studio_generates_offline(comms, offline) -> None:  # type: ignore[no-untyped-def]
    s = studio(provider="local")
    try:
        assert "no key needed" in s.launcher.key_status.value and not s.launcher.generate.disabled
        s.launcher.generate.click()
        assert s.bridge.wait_idle(60)
        run = s.runs[0]
        assert run.state == "completed", run.error
        assert run.job is not None and run.job.audio_path is not None and Path(run.job.audio_path).is_file()
        assert s.player.job is not None and s.player.audio.value == Path(run.job.audio_path).read_bytes()
        df = s.table.df
        assert df is not None and list(df["status"].astype(str)) == ["completed"]
        assert float(df["measured_duration_s"].iloc[0]) > 1.0  # measured from the file by results()
    finally:
        s.close()


@pytest.mark.slow
def test_useapi_studio_against_the_emulator(comms, offline) -> None:  # type: ignore[no-untyped-def]
    from minimax_nb.emulator import DEFAULT_KEY, Emulator

    with Emulator(speed=50) as emu:
        s = Studio("useapi", api_key=DEFAULT_KEY, base_url=emu.base_url("useapi"), env={},
                   lyrics="[Verse]\nhello from the emulator")
        try:
            assert s.bridge.wait_idle(30)  # the styles list loaded in the background
            ids = [v for _, v in s.composer.style_id.options if v]
            assert ids and s.composer.request().style_id == ids[0]
            assert not s.launcher.generate.disabled, s.launcher.generate.tooltip
            runs = s.generate()
            assert s.bridge.wait_idle(60)
            assert runs[0].state == JobStatus.COMPLETED.value, runs[0].error
            assert DEFAULT_KEY not in repr(s)
        finally:
            s.close()


@pytest.mark.slow
def test_variants_over_max_usd_send_nothing(comms, offline) -> None:  # type: ignore[no-untyped-def]
    """Issue 11's budget guard in the studio: Generate with Variants over "Max $" is refused before the
    confirmation, with zero requests at the emulator; at the limit it goes."""
    from minimax_nb.emulator import DEFAULT_KEY, Emulator
    from minimax_nb.errors import BudgetExceededError, ValidationError

    with Emulator(speed=50) as emu:
        s = Studio("apiin", api_key=DEFAULT_KEY, base_url=emu.base_url("apiin"), env={},
                   lyrics="[Verse]\nhello from the emulator\n[Chorus]\nla la la",
                   style="dreamy synth pop, female vocals")
        try:
            s.launcher.variants.value = 5
            each = s.launcher.estimate()
            assert each is not None and each > 0
            s.launcher.max_usd.value = f"{each * 4.5:.4f}"
            assert "over Max $" in s.launcher.cost.value
            s.launcher.generate.click()
            assert "BudgetExceededError" in s.launcher.errors.value or "over" in s.launcher.errors.value
            assert f"{each * 5:.2f}" in s.launcher.errors.value
            assert s.launcher.confirm_box.layout.display == "none"  # nothing over the limit is offered
            with pytest.raises(BudgetExceededError):
                s.generate()  # the programmatic path checks the same limit
            assert s.runs == [] and emu.submissions() == 0 and emu.requests == []
            s.launcher.max_usd.value = "oops"
            assert "Max $?" in s.launcher.cost.value
            assert s.launcher.generate.disabled and "non-negative number" in s.launcher.generate.tooltip
            assert s.launcher.errors.value == ""  # the old refusal is gone with the old limit
            with pytest.raises(ValidationError, match="non-negative number"):
                s.generate()  # a typo is never read as "no limit"
            assert emu.submissions() == 0
            s.launcher.variants.value = 2
            s.launcher.max_usd.value = f"${each * 2:.4f}"
            assert "over Max $" not in s.launcher.cost.value
            s.launcher.generate.click()  # 2 <= confirm_above: goes at once
            assert s.bridge.wait_idle(60)
            assert [r.state for r in s.runs] == ["completed", "completed"], [r.error for r in s.runs]
            assert emu.submissions() == 2
            s.launcher.max_usd.value = "oops"
            s.launcher.provider.value = "local"  # free: the limit neither shows nor blocks
            assert s.launcher.max_usd.layout.display == "none" and s.launcher.settings().max_usd is None
            assert "non-negative" not in s.launcher.generate.tooltip
        finally:
            s.close()



def test_studio_is_the_lazy_public_name() -> None:
    import minimax_nb
    import minimax_nb.widgets

    assert minimax_nb.studio is minimax_nb.widgets.studio
    assert "studio" in dir(minimax_nb)
