"""Launcher: options from the ModelSpec, key handling, Generate enabling, batch confirmation, cost."""

from __future__ import annotations

import json

from minimax_nb.widgets import Launcher

SECRET = "sk-TEST-launcher-0123456789abcdef"


def _all_state(widget) -> str:  # type: ignore[no-untyped-def]
    """Every synced trait of ``widget`` and its descendants, as JSON text."""
    seen, todo, out = set(), [widget], []
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
    return "\n".join(out)


def test_options_follow_the_model_spec(comms, catalog) -> None:  # type: ignore[no-untyped-def]
    lw = Launcher(catalog=catalog, provider="local", env={})
    assert list(lw.model.options) == ["minimax/music-2.6"]
    assert list(lw.bitrate.options) == ["default", 64000, 128000]
    assert list(lw.sample_rate.options) == ["default", 24000, 44100]
    assert list(lw.audio_format.options) == ["default", "mp3", "wav"]
    lw.bitrate.value = 128000
    assert lw.settings().bitrate == 128000
    lw.provider.value = "apiin"
    assert list(lw.bitrate.options) == ["default", 32000, 256000]
    assert lw.bitrate.value == "default"  # 128000 is not allowed there: back to the default
    assert lw.audio_format.layout.display == "none"  # apiin has no format setting
    lw.provider.value = "useapi"
    assert lw.bitrate.layout.display == "none" and lw.account.layout.display == ""
    s = lw.settings()
    got = (s.provider, s.model, s.bitrate, s.sample_rate, s.audio_format)
    assert got == ("useapi", "v1", None, None, None)


def test_key_status_names_the_environment_variable(comms, catalog) -> None:  # type: ignore[no-untyped-def]
    lw = Launcher(catalog=catalog, provider="apiin", env={"APIIN_API_KEY": SECRET})
    assert "key from $APIIN_API_KEY" in lw.key_status.value
    assert SECRET not in lw.key_status.value
    assert not lw.generate.disabled
    lw.provider.value = "useapi"
    assert "no key" in lw.key_status.value and "USEAPI_API_TOKEN" in lw.key_status.value
    assert lw.generate.disabled and "no API key" in lw.generate.tooltip
    lw.provider.value = "local"
    assert "no key needed" in lw.key_status.value and not lw.generate.disabled


def test_typed_key_is_read_then_cleared_and_never_in_widget_state(comms, catalog, front_end) -> None:  # type: ignore[no-untyped-def]
    lw = Launcher(catalog=catalog, provider="apiin", env={})
    assert lw.generate.disabled
    front_end(lw.key, value=SECRET)  # the browser syncs the field (on Enter / blur)
    assert lw.api_key == SECRET
    assert lw.key.value == ""
    assert lw.key.get_state()["value"] == ""
    assert SECRET not in _all_state(lw)
    assert "entered" in lw.key_status.value and not lw.generate.disabled
    # the last thing the kernel told the front end about the field: it is empty
    last = comms.updates(lw.key, "value")[-1]
    assert last["state"]["value"] == ""
    assert SECRET not in repr(lw) and SECRET not in repr(lw.settings())
    assert lw.settings().api_key == SECRET
    lw.forget_key.click()
    assert lw.api_key is None and lw.generate.disabled


def test_key_field_syncs_only_when_done_typing(comms, catalog) -> None:  # type: ignore[no-untyped-def]
    lw = Launcher(catalog=catalog, provider="apiin", env={})
    assert lw.key.continuous_update is False  # a half-typed key is never read (nor cleared under the user)


def test_generate_disabled_while_invalid(comms, catalog) -> None:  # type: ignore[no-untyped-def]
    lw = Launcher(catalog=catalog, provider="local", env={})
    fired = []
    lw.on_generate(fired.append)
    lw.set_valid(False, "lyrics are required")
    assert lw.generate.disabled and "lyrics are required" in lw.generate.tooltip
    lw.generate.click()
    assert fired == []
    lw.set_valid(True)
    assert not lw.generate.disabled
    lw.generate.click()
    assert len(fired) == 1 and fired[0].variants == 1


def test_batches_above_the_threshold_ask_first(comms, catalog) -> None:  # type: ignore[no-untyped-def]
    lw = Launcher(catalog=catalog, provider="apiin", env={"APIIN_API_KEY": "x"}, confirm_above=3)
    from minimax_nb.models import MusicRequest

    lw.set_request(MusicRequest(lyrics="la"))
    fired = []
    lw.on_generate(fired.append)
    lw.variants.value = 3
    lw.generate.click()
    assert len(fired) == 1  # 3 is not above the threshold
    lw.variants.value = 5
    assert "≈ $0.30" in lw.cost.value and "5 × $0.06" in lw.cost.value
    lw.generate.click()
    assert len(fired) == 1 and lw.confirm_box.layout.display == "flex"
    assert "Generate 5 songs for about $0.30?" in lw.confirm_text.value
    assert lw.generate.disabled  # no double submit while asking
    lw.cancel.click()
    assert len(fired) == 1 and lw.confirm_box.layout.display == "none" and not lw.generate.disabled
    lw.generate.click()
    lw.confirm.click()
    assert len(fired) == 2 and fired[-1].variants == 5


def test_cost_unknown_when_no_price(comms, catalog) -> None:  # type: ignore[no-untyped-def]
    from minimax_nb.models import MusicRequest

    lw = Launcher(catalog=catalog, provider="useapi", env={"USEAPI_API_TOKEN": "t"})
    lw.set_request(MusicRequest(lyrics="la"))
    assert "unknown" in lw.cost.value
    lw.provider.value = "local"
    assert "free (offline emulator)" in lw.cost.value


def test_callback_errors_show_in_the_panel(comms, catalog) -> None:  # type: ignore[no-untyped-def]
    lw = Launcher(catalog=catalog, provider="local", env={})

    def boom(settings) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("generate <failed>")

    lw.on_generate(boom)
    lw.generate.click()
    assert "RuntimeError" in lw.errors.value and "generate &lt;failed&gt;" in lw.errors.value


def test_entering_a_key_tells_the_listeners(comms, catalog, front_end) -> None:  # type: ignore[no-untyped-def]
    lw = Launcher(catalog=catalog, provider="useapi", env={})
    changes = []
    lw.on_change(lambda: changes.append(lw.key_source()))
    front_end(lw.key, value="typed-key")
    assert changes[-1] == "entered"
