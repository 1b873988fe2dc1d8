"""Where each part of the composite frame goes: pixel rectangles for a given size and unit count."""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Layout", "Rect", "compute_layout"]

Rect = tuple[int, int, int, int]  # x, y, width, height in pixels


@dataclass(frozen=True)
class Layout:
    """Pixel rectangles ``(x, y, w, h)`` of every part of the composite frame."""

    size: tuple[int, int]
    arena: Rect
    status: Rect
    header: Rect
    cells: tuple[Rect, ...]
    maps: tuple[Rect, ...]
    strip: Rect
    font_px: int


def _panel_grid(gw: float, gh: float, n: int, aspect: float, line: int) -> tuple[float, int]:
    """Best ``(map height in px, columns)`` for ``n`` panels of ``aspect`` in ``gw × gh`` px."""
    best: tuple[float, int] = (0.0, 1)
    for cols in range(1, n + 1):
        rows = math.ceil(n / cols)
        bw, bh = gw / cols - 6, gh / rows - line - 4
        scale = min(bw / aspect, bh) if bw > 0 and bh > 0 else 0.0
        if scale > best[0]:
            best = (scale, cols)
    return best


def compute_layout(
    size: tuple[int, int], n_panels: int, map_aspect: float, font_px: int | None = None
) -> Layout:
    """Place the arena, ``n_panels`` firing-field panels and the bar strip in ``size`` pixels.

    ``map_aspect`` is width / height of a ratemap in metres; panels keep it (drawn to scale).
    The arena square takes 40-55 % of the width: the largest share that leaves the panels at
    least 95 % of the size the height alone would allow them.
    """
    w, h = (int(s) for s in size)
    if w < 320 or h < 240:
        raise ValueError(f"size must be at least 320x240 pixels, got {w}x{h}")
    if n_panels < 1:
        raise ValueError(f"units must be a positive integer, got {n_panels!r}")
    font = font_px or max(12, h // 34)
    line = font + 2
    pad = max(4, min(w, h) // 75)
    strip_h = max(48, round(h * 0.15))
    top = h - strip_h
    gy = pad + line + 4  # panels start below the header line
    gh = top - gy - pad
    max_side = min(top - 3 * line, round(w * 0.55))
    side = max_side
    for side in range(max_side, round(w * 0.4) - 1, -2):
        scale, cols = _panel_grid(w - side - 2 * pad, gh, n_panels, map_aspect, line)
        rows = math.ceil(n_panels / cols)
        if scale >= 0.95 * (gh / rows - line - 4):
            break
    x0 = side + pad
    gw = w - x0 - pad
    scale, cols = _panel_grid(gw, gh, n_panels, map_aspect, line)
    if scale < 8:
        raise ValueError(f"{n_panels} panels do not fit in {w}x{h} pixels; use fewer units")
    rows = math.ceil(n_panels / cols)
    cw, ch = gw / cols, gh / rows
    mw, mh = max(1, int(scale * map_aspect)), max(1, int(scale))
    cells, maps = [], []
    for k in range(n_panels):
        r, c = divmod(k, cols)
        cx, cy = x0 + round(c * cw), gy + round(r * ch)
        cells.append((cx, cy, round(cw), round(ch)))
        maps.append((cx + (round(cw) - mw) // 2, cy + 2, mw, mh))
    label = line + 2
    return Layout(
        size=(w, h),
        arena=(0, 0, side, side),
        status=(pad, side, side - 2 * pad, top - side),
        header=(x0, pad, gw, line + 4),
        cells=tuple(cells),
        maps=tuple(maps),
        strip=(pad, top + label, w - 2 * pad, strip_h - label - pad),
        font_px=font,
    )
