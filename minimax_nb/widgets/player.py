"""Player: the downloaded song (``ipywidgets.Audio``, autoplay and loop off), cover, lyrics, facts, link."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import ipywidgets as w

from minimax_nb.models import Job
from minimax_nb.results.html import waveform_html, waveform_peaks
from minimax_nb.widgets import _html

__all__ = ["Player"]

#: Files above this size get no inline download link (the audio widget still plays them).
LINK_MAX_BYTES = 12_000_000
_MIME = {"mp3": "audio/mpeg", "wav": "audio/wav", "flac": "audio/flac", "ogg": "audio/ogg",
         "pcm": "audio/L16"}
_COVER_EXTS = (".png", ".jpg", ".jpeg", ".webp")


class Player(w.VBox):  # type: ignore[misc]
    """Plays one job's downloaded file.

    The audio goes to the front end as bytes (never by the provider's URL, which expires). The cover is
    the image saved next to the audio (same name, ``.png``/``.jpg``) when there is one, else a card with
    the title. ``show(job)`` switches to another job; ``job`` is the one shown.
    """

    def __init__(self) -> None:
        self.job: Job | None = None
        self.heading = w.HTML(f"<b>Player</b> <span style='color:{_html.MUTED}'>(nothing selected)</span>")
        self.audio = w.Audio(value=b"", format="mp3", autoplay=False, loop=False, controls=True,
                             layout=w.Layout(width="100%"))
        self.cover = w.Image(value=b"", format="png", layout=w.Layout(width="120px", height="120px",
                                                                       display="none"))
        self.cover_card = w.HTML(layout=w.Layout(width="120px"))
        self.facts = w.HTML()
        self.lyrics = w.HTML()
        self.link = w.HTML()
        self.wave = w.HTML()  # the song's waveform over the player (computed from the file)
        self.errors = w.HTML()
        for cls, widget in (("mnb-player-audio", self.audio), ("mnb-player-facts", self.facts),
                            ("mnb-player-lyrics", self.lyrics), ("mnb-player-link", self.link),
                            ("mnb-errors", self.errors), ("mnb-player-heading", self.heading)):
            widget.add_class(cls)
        self.audio.layout.display = "none"
        self.facts.layout = w.Layout(flex="1 1 auto", margin="0 0 0 8px")
        self.wave.add_class("mnb-player-wave")
        super().__init__([self.heading, w.HBox([self.cover, self.cover_card, self.facts]), self.wave,
                          self.audio, self.link, self.lyrics, self.errors], layout=w.Layout(width="100%"))
        self.add_class("mnb-player")

    def show(self, job: Job | None) -> None:
        """Show ``job`` (``None`` clears). Errors reading the file show in the panel."""
        try:
            self._show(job)
        except Exception as e:
            self.errors.value = _html.error_box(e, "showing the song")

    def _show(self, job: Job | None) -> None:
        self.job = job
        self.errors.value = ""
        if job is None:
            self.heading.value = f"<b>Player</b> <span style='color:{_html.MUTED}'>(nothing selected)</span>"
            self.audio.layout.display = "none"
            self.audio.value = b""
            for h in (self.facts, self.lyrics, self.link, self.cover_card):
                h.value = ""
            return
        title = job.title or job.request.title or "untitled"
        self.heading.value = f"<b>▶ {_html.esc(title)}</b>"
        path = Path(job.audio_path) if job.audio_path else None
        facts: list[tuple[str, Any]] = [
            ("provider", job.provider), ("model", job.model or job.request.model),
            ("status", job.status.value), ("style", job.style or job.request.style)]
        if job.duration_s is not None:
            facts.append(("duration", f"{job.duration_s:.1f} s"))
        if path is not None and path.exists():
            data = path.read_bytes()
            ext = path.suffix.lstrip(".").lower() or "mp3"
            facts += [("file", path.name), ("size", f"{len(data) / 1e6:.2f} MB")]
            self.audio.format = ext
            self.audio.value = data
            self.audio.layout.display = ""
            if len(data) <= LINK_MAX_BYTES:
                mime = _MIME.get(ext, "application/octet-stream")
                href = f"data:{mime};base64,{base64.b64encode(data).decode()}"
                self.link.value = (f'<a class="mnb-download" download="{_html.esc(path.name)}" '
                                   f'href="{href}">⬇ download {_html.esc(path.name)}</a>')
            else:
                self.link.value = f"<span>file: {_html.esc(path)}</span>"
        else:
            self.audio.value = b""
            self.audio.layout.display = "none"
            why = "no audio file" if job.status.value == "completed" else f"job {job.status.value}"
            self.link.value = f"<span style='color:{_html.MUTED}'>{_html.esc(why)}</span>"
        if job.error:
            facts.append(("error", job.error))
        self.facts.value = "<table style='font-size:12px;line-height:1.3'>" + "".join(
            f"<tr><td style='color:{_html.MUTED};padding-right:8px;vertical-align:top'>{_html.esc(k)}</td>"
            f"<td style='word-break:break-all'>{_html.esc(v)}</td></tr>"
            for k, v in facts if v not in (None, "")) + "</table>"
        lyr = job.lyrics or job.request.lyrics
        self.lyrics.value = (f"<details><summary>lyrics</summary><pre style='white-space:pre-wrap'>"
                             f"{_html.esc(lyr)}</pre></details>" if lyr else "")
        peaks = waveform_peaks(path) if path is not None and Path(path).is_file() else None
        self.wave.value = waveform_html(peaks, width=320, height=28) if peaks else ""
        cover = _find_cover(path)
        if cover is not None:
            self.cover.format = cover.suffix.lstrip(".").replace("jpg", "jpeg")
            self.cover.value = cover.read_bytes()
            self.cover.layout.display = ""
            self.cover_card.layout.display = "none"
        else:
            self.cover.layout.display = "none"
            self.cover_card.layout.display = ""
            # no cover from the provider (the offline one): the title over the song's own waveform
            wave = waveform_html(peaks, width=104, height=40) if peaks else ""
            self.cover_card.value = (
                "<div style='width:110px;height:110px;border-radius:6px;background:linear-gradient(135deg,"
                "#6366f1,#ec4899);color:white;display:flex;flex-direction:column;align-items:center;"
                "justify-content:center;text-align:center;font-size:12px;padding:4px;overflow:hidden;"
                f"word-break:break-word;gap:6px'><div>{_html.esc(title)}</div>"
                f"<div style='filter:brightness(0) invert(1)'>{wave}</div></div>")


def _find_cover(audio: Path | None) -> Path | None:
    if audio is None:
        return None
    for ext in _COVER_EXTS:
        for cand in (audio.with_suffix(ext), audio.with_name(audio.stem + ".cover" + ext)):
            if cand.exists():
                return cand
    return None
