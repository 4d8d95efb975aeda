"""Cover art for a job: a seeded gradient with waves, the title, the style, and an honest label.

Drawn with Pillow; every cover says "minimax_nb offline synth" so nobody mistakes it for MiniMax art.
"""

from __future__ import annotations

import io
import textwrap

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from minimax_nb.synth.arrange import stable_seed
from minimax_nb.synth.styles import resolve_style

__all__ = ["LABEL", "cover_png"]

LABEL = "minimax_nb offline synth"

_PALETTES: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {
    "pop": ((255, 94, 158), (255, 196, 87)),
    "rock": ((40, 20, 24), (190, 30, 45)),
    "electronic": ((20, 10, 70), (0, 210, 255)),
    "jazz": ((25, 35, 80), (214, 160, 60)),
    "lo-fi": ((92, 70, 120), (240, 170, 140)),
    "ballad": ((30, 40, 90), (170, 150, 220)),
    "folk": ((70, 90, 40), (225, 190, 120)),
    "hip-hop": ((15, 15, 15), (140, 80, 220)),
}


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: the small bitmap font only
        return ImageFont.load_default()


def cover_png(title: str, style: str, *, seed: int = 0, size: int = 512) -> bytes:
    """A square PNG cover (``size`` pixels) with ``title`` and ``style`` written on it.

    Deterministic for ``(title, style, seed, size)``; colours follow the style preset.
    """
    if not 64 <= size <= 4096:
        raise ValueError(f"size must be between 64 and 4096 pixels, got {size}")
    preset = resolve_style(style)
    rng = np.random.default_rng(stable_seed("cover", title, style, seed))
    top, bottom = _PALETTES.get(preset.name, _PALETTES["pop"])
    jitter = rng.integers(-25, 26, size=3)
    top_a = np.clip(np.array(top) + jitter, 0, 255)
    y = np.linspace(0.0, 1.0, size)[:, None, None]
    x = np.linspace(0.0, 1.0, size)[None, :, None]
    mix = np.clip(0.75 * y + 0.25 * x, 0.0, 1.0)
    img_arr = (top_a[None, None, :] * (1 - mix) + np.array(bottom)[None, None, :] * mix).astype(np.uint8)
    img = Image.fromarray(img_arr, "RGB")
    layer = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    # Circles and waves.
    for _ in range(int(rng.integers(3, 7))):
        r = float(rng.uniform(0.08, 0.35)) * size
        cx, cy = rng.uniform(0, size, size=2)
        alpha = int(rng.integers(25, 70))
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(255, 255, 255, alpha))
    xs = np.linspace(0, size, 160)
    for k in range(int(rng.integers(3, 6))):
        amp = float(rng.uniform(0.02, 0.08)) * size
        freq = float(rng.uniform(1.0, 4.0))
        base = size * (0.55 + 0.06 * k)
        ph = float(rng.uniform(0, 2 * np.pi))
        ys = base + amp * np.sin(2 * np.pi * freq * xs / size + ph)
        draw.line(
            list(zip(xs.tolist(), ys.tolist(), strict=True)),
            fill=(255, 255, 255, 110),
            width=max(1, size // 170),
        )
    img = Image.alpha_composite(img.convert("RGBA"), layer)
    draw = ImageDraw.Draw(img)
    margin = size // 14
    title_text = (title or "Untitled").strip() or "Untitled"
    title_font = _font(max(10, size // 11))
    wrapped = textwrap.wrap(title_text, width=16)
    lines = wrapped[:3]
    if len(wrapped) > 3:
        lines[-1] = lines[-1][:14] + "…"
    yy = margin
    for line in lines:
        draw.text((margin + 2, yy + 2), line, font=title_font, fill=(0, 0, 0, 120))
        draw.text((margin, yy), line, font=title_font, fill=(255, 255, 255, 255))
        yy += int(size / 11 * 1.2)
    style_font = _font(max(8, size // 24))
    style_line = (style or preset.name).strip()
    style_line = style_line if len(style_line) <= 40 else style_line[:39] + "…"
    draw.text((margin, yy + size // 40), style_line, font=style_font, fill=(255, 255, 255, 230))
    label_font = _font(max(8, size // 32))
    draw.text((margin, size - margin - size // 32), LABEL, font=label_font, fill=(255, 255, 255, 200))
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="PNG", optimize=False)
    return buf.getvalue()
