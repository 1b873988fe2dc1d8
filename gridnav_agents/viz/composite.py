"""The composite view: arena and agent, live firing fields of a page of units, population code.

Layout of a ``W × H`` frame (800 × 600 by default; see :mod:`gridnav_agents.viz.layout`)::

    +------------------+-------------------------------------------+
    |                  | firing fields: units a-b of N (page p/P)  |
    |  arena to scale, | +----+ +----+ +----+ +----+               |
    |  home, agent and | |    | |    | |    | |    |  one panel    |
    |  its trail       | +----+ +----+ +----+ +----+  per unit     |
    |                  | u0 g +0.41   u1 g -0.05 ...               |
    | status lines     | ...                                       |
    +------------------+-------------------------------------------+
    | population code g_t (bars; this page orange)  low [cbar] high |
    +---------------------------------------------------------------+

Each panel is a unit's online ratemap (mean activity per bin), scaled to its own range and
coloured through a 256-entry colormap LUT (``inferno``: dark = silent, bright = firing; light
grey = not visited yet; page colour = off the floor), drawn to the arena's scale, with the
agent's current position as a cyan ring and the unit's gridness below it ("–" when unavailable;
green at or above 0.3). pygame is imported lazily; headless use works with
``SDL_VIDEODRIVER=dummy``.
"""

from __future__ import annotations

import math

import numpy as np

from gridnav_agents.viz.fields import (
    OnlineRatemaps,
    apply_colormap,
    colormap_lut,
    load_gridness,
    normalise_maps,
)
from gridnav_agents.viz.layout import compute_layout
from gridnav_env.arena import Arena
from gridnav_env.render import BACKGROUND, ArenaRenderer, import_pygame

__all__ = ["FiringFieldView"]

TEXT = (35, 35, 40)
MUTED = (110, 110, 118)
GRID_OK = (20, 135, 60)
UNVISITED = (225, 225, 225)
BAR = (95, 110, 150)
BAR_PAGE = (235, 120, 20)
MARKER = (0, 230, 255)
GRID_THRESHOLD = 0.3
FILL_WEIGHT = 0.5


class FiringFieldView:
    """Composite renderer of an agent and the live firing fields of its units.

    Feed it samples with :meth:`start_episode` / :meth:`update`; draw with :meth:`draw`
    (a pygame surface) or :meth:`frame` (an ``(H, W, 3)`` uint8 array).

    Args:
        arena: the arena (metres).
        n_units: size of the population code ``N``.
        units: panels per page (the page shows units ``page·units`` … ``page·units + units - 1``).
        size: ``(width, height)`` of the frame in pixels.
        bin_size: ratemap bin side, metres (default: the arena's larger side / 44, i.e. 5 cm in
            the 2.2 m box).
        cmap: matplotlib colormap name for the fields.
        smooth_bins: standard deviation of a NaN-aware Gaussian smoothing of the shown fields,
            in bins (0: raw bins).
        gridness_every: recompute the shown units' gridness every this many updates
            (0: never).
        trail_length: positions of the trail drawn behind the agent.
        mark_agent: draw the agent's current position on every panel.
        title: first status line (e.g. the encoder's name).

    Attributes:
        background_gridness: compute gridness in a worker thread (the interactive viewer sets
            it); default ``False``, so frames depend only on the samples.
        status: further status lines under the arena (set by the wrapper or the viewer).
    """

    def __init__(
        self,
        arena: Arena,
        n_units: int,
        *,
        units: int = 16,
        size: tuple[int, int] = (800, 600),
        bin_size: float | None = None,
        cmap: str = "inferno",
        smooth_bins: float = 1.0,
        gridness_every: int = 60,
        trail_length: int = 400,
        mark_agent: bool = True,
        title: str = "",
    ):
        if isinstance(units, bool) or int(units) != units or units < 1:
            raise ValueError(f"units must be a positive integer, got {units!r}")
        if not (math.isfinite(smooth_bins) and smooth_bins >= 0):
            raise ValueError(f"smooth_bins must be a non-negative number, got {smooth_bins!r}")
        if int(gridness_every) != gridness_every or gridness_every < 0:
            raise ValueError(f"gridness_every must be a non-negative integer, got {gridness_every}")
        self.arena, self.n_units = arena, int(n_units)
        self.units_per_page = min(int(units), self.n_units)
        bin_size = bin_size if bin_size is not None else arena.extent / 44
        self.fields = OnlineRatemaps(self.n_units, arena.bounds, bin_size)
        xmin, ymin, xmax, ymax = self.fields.extent
        self.layout = compute_layout(size, self.units_per_page, (xmax - xmin) / (ymax - ymin))
        self.lut = colormap_lut(cmap)
        self.smooth_bins, self.gridness_every = float(smooth_bins), int(gridness_every)
        self.trail_length, self.mark_agent, self.title = int(trail_length), mark_agent, title
        self.status: list[str] = []
        self.pygame = pg = import_pygame()
        pg.font.init()
        self._font = pg.font.Font(None, self.layout.font_px + 4)
        self._text_cache: dict[tuple[str, tuple[int, int, int]], object] = {}
        a = self.layout.arena
        self.arena_renderer = ArenaRenderer(arena, mode="rgb_array", size=(a[2], a[3]))
        self._arena_bg = pg.Surface((a[2], a[3]))
        self.arena_renderer.draw_arena(self._arena_bg)
        self.surface = pg.Surface(self.layout.size)
        self._colorbar = self._make_colorbar()
        cx = xmin + (np.arange(self.fields.nx) + 0.5) * self.fields.bin_size
        cy = ymin + (np.arange(self.fields.ny) + 0.5) * self.fields.bin_size
        centres = np.stack(np.meshgrid(cx, cy, indexing="ij"), axis=-1)
        self._outside = ~arena.contains(centres)  # (nx, ny): bins whose centre is off the floor
        self._gridness_fn = load_gridness() if self.gridness_every else None
        self.page = 0
        self.position = np.zeros(2)
        self.code = np.zeros(self.n_units)
        self.home: np.ndarray | None = None
        self.home_radius = 0.2
        self.trail: list[np.ndarray] = []
        self.n_updates = 0
        self._code_scale = 1e-9
        self._gridness = np.full(self.n_units, np.nan)
        self._gridness_at = -1
        self.background_gridness = False
        self._executor = None
        self._pending = None
        self._pending_for: tuple[np.ndarray, int] = (np.arange(0), 0)
        self._generation = 0  # bumped when the fields are reset: stale results are dropped

    # ------------------------------------------------------------------ pages
    @property
    def n_pages(self) -> int:
        return math.ceil(self.n_units / self.units_per_page)

    @property
    def shown_units(self) -> np.ndarray:
        """Indices of the units on the current page."""
        start = self.page * self.units_per_page
        return np.arange(start, min(start + self.units_per_page, self.n_units))

    def set_page(self, page: int) -> None:
        self.page = int(page) % self.n_pages
        self._gridness_at = -1  # refresh the new page's scores at the next draw

    def next_page(self) -> None:
        self.set_page(self.page + 1)

    def previous_page(self) -> None:
        self.set_page(self.page - 1)

    # ------------------------------------------------------------------ samples
    def reset_fields(self) -> None:
        """Empty every ratemap (the trail and the current code stay)."""
        self.fields.reset()
        self._gridness[:] = np.nan
        self._gridness_at = -1
        self._generation += 1

    def start_episode(
        self,
        position: np.ndarray,
        activity: np.ndarray,
        home: np.ndarray | None = None,
        home_radius: float = 0.2,
    ) -> None:
        """Begin a new path at ``position`` (m): clears the trail, keeps the fields."""
        self.trail = []
        self.home = None if home is None else np.asarray(home, dtype=float)
        self.home_radius = float(home_radius)
        self.update(position, activity)

    def update(self, position: np.ndarray, activity: np.ndarray) -> None:
        """Record the code ``activity (N,)`` at ``position (2,)`` metres."""
        act = np.asarray(activity, dtype=float).reshape(-1)
        if act.shape != (self.n_units,):
            raise ValueError(f"activity must have shape ({self.n_units},), got {act.shape}")
        pos = np.asarray(position, dtype=float).reshape(2).copy()
        self.position, self.code = pos, act
        self.fields.add(pos, act)
        self.trail.append(pos)
        if len(self.trail) > 2 * self.trail_length:
            del self.trail[: len(self.trail) - self.trail_length]
        self.n_updates += 1

    # ------------------------------------------------------------------ geometry
    def world_to_pixel(self, points: np.ndarray) -> np.ndarray:
        """Metres ``(..., 2)`` to pixel coordinates of the frame in the arena panel."""
        x, y, _, _ = self.layout.arena
        return self.arena_renderer.world_to_pixel(points) + np.array([x, y])

    def field_to_pixel(self, slot: int, points: np.ndarray) -> np.ndarray:
        """Metres ``(..., 2)`` to pixel coordinates of the frame in firing-field panel ``slot``."""
        mx, my, mw, mh = self.layout.maps[slot]
        xmin, ymin, xmax, ymax = self.fields.extent
        p = np.asarray(points, dtype=float)
        u = mx + (p[..., 0] - xmin) / (xmax - xmin) * mw
        v = my + (ymax - p[..., 1]) / (ymax - ymin) * mh
        return np.stack([u, v], axis=-1)

    # ------------------------------------------------------------------ drawing
    def _text(self, text: str, color: tuple[int, int, int] = TEXT):
        key = (text, color)
        surf = self._text_cache.get(key)
        if surf is None:
            if len(self._text_cache) > 1024:
                self._text_cache.clear()
            surf = self._font.render(text, True, color)
            self._text_cache[key] = surf
        return surf

    def _make_colorbar(self):
        pg = self.pygame
        w, h = 64, max(6, self.layout.font_px // 2)
        ramp = apply_colormap(np.repeat(np.linspace(0, 1, w)[:, None], h, axis=1), self.lut)
        return pg.surfarray.make_surface(ramp)

    def shown_maps(self) -> np.ndarray:
        """The current page's ratemaps ``(n, nx, ny)`` as drawn, before normalisation.

        With ``smooth_bins > 0``: NaN-aware Gaussian smoothing, and unvisited bins whose
        neighbourhood carries at least ``FILL_WEIGHT`` of the kernel's weight are filled in.
        """
        maps = self.fields.maps(self.shown_units)
        if self.smooth_bins > 0:
            from scipy.ndimage import gaussian_filter

            valid = np.isfinite(maps)
            sig = (0, self.smooth_bins, self.smooth_bins)
            num = gaussian_filter(np.where(valid, maps, 0.0), sig, mode="constant")
            den = gaussian_filter(valid.astype(float), sig, mode="constant")
            # Unvisited bins mostly surrounded by visited ones are filled in (a display choice).
            with np.errstate(invalid="ignore", divide="ignore"):
                maps = np.where(valid | (den >= FILL_WEIGHT), num / den, np.nan)
        return maps

    def gridness(self) -> np.ndarray:
        """Gridness of the current page's units (NaN: not computed yet or not available).

        Recomputed when ``gridness_every`` updates have passed since the last time (or the page
        changed). With ``background_gridness`` the computation runs in a worker thread and its
        result shows up at a later frame, so the window does not stall; otherwise it runs here
        (deterministic frames, as recordings want).
        """
        fut = self._pending
        if fut is not None and fut.done():
            units, generation = self._pending_for
            if generation == self._generation:
                self._gridness[units] = fut.result()
            self._pending = None
        due = self._gridness_at < 0 or self.n_updates - self._gridness_at >= self.gridness_every
        if (
            self._gridness_fn is not None
            and due
            and self.fields.n_samples
            and self._pending is None
        ):
            units = self.shown_units
            maps = self.fields.maps(units)
            if self.background_gridness:
                if self._executor is None:
                    from concurrent.futures import ThreadPoolExecutor

                    self._executor = ThreadPoolExecutor(1, thread_name_prefix="gridness")
                self._pending = self._executor.submit(self._gridness_fn, maps)
                self._pending_for = (units, self._generation)
            else:
                self._gridness[units] = self._gridness_fn(maps)
            self._gridness_at = self.n_updates
        return self._gridness[self.shown_units]

    def draw(self, target=None):
        """Draw the composite onto ``target`` (default: ``self.surface``) and return it."""
        s = self.surface if target is None else target
        s.fill(BACKGROUND)
        self._draw_arena(s)
        self._draw_fields(s)
        self._draw_strip(s)
        return s

    def frame(self) -> np.ndarray:
        """Draw and return the frame as ``(H, W, 3)`` uint8 (rows top to bottom)."""
        s = self.draw()
        w, h = self.layout.size
        buf = self.pygame.image.tobytes(s, "RGB")
        return np.frombuffer(buf, dtype=np.uint8).reshape(h, w, 3).copy()

    def _draw_arena(self, s) -> None:
        r = self.arena_renderer
        r.surface.blit(self._arena_bg, (0, 0))
        trail = self.trail[-self.trail_length :]
        r.draw_agent(r.surface, self.position, trail, self.home, self.home_radius)
        s.blit(r.surface, self.layout.arena[:2])
        x, y, _, _ = self.layout.status
        line = self.layout.font_px + 2
        lines = ([self.title] if self.title else []) + list(self.status)
        for k, text in enumerate(lines):
            s.blit(self._text(text, TEXT if k == 0 else MUTED), (x, y + 2 + k * line))

    def _draw_fields(self, s) -> None:
        pg = self.pygame
        units = self.shown_units
        hx, hy, hw, _ = self.layout.header
        a, b, n, p = units[0], units[-1], self.n_units, f"{self.page + 1}/{self.n_pages}"
        for text in (
            f"firing fields: units {a}-{b} of {n} (page {p})",
            f"fields: units {a}-{b} of {n} ({p})",
            f"u{a}-{b} of {n}",
        ):
            label = self._text(text)
            if label.get_width() <= hw:
                break
        s.blit(label, (hx, hy + 2))
        rgb = apply_colormap(normalise_maps(self.shown_maps()), self.lut, UNVISITED)
        rgb[:, self._outside] = BACKGROUND
        scores = self.gridness()
        have_gridness = self._gridness_fn is not None
        for k, unit in enumerate(units):
            mx, my, mw, mh = self.layout.maps[k]
            # surfarray is indexed [x, y] with y down; ratemaps [i, j] with j up.
            img = pg.surfarray.make_surface(rgb[k][:, ::-1])
            s.blit(pg.transform.smoothscale(img, (mw, mh)), (mx, my))
            if self.mark_agent:
                c = self.field_to_pixel(k, self.position)
                pg.draw.circle(s, MARKER, (int(c[0]), int(c[1])), max(2, mw // 28), 1)
            g = scores[k]
            if not have_gridness or not np.isfinite(g):
                label, color = f"u{unit}  g –", MUTED
            else:
                label, color = f"u{unit}  g {g:+.2f}", GRID_OK if g >= GRID_THRESHOLD else TEXT
            s.blit(self._text(label, color), (mx, my + mh + 1))

    def _draw_strip(self, s) -> None:
        pg = self.pygame
        x, y, w, h = self.layout.strip
        line = self.layout.font_px + 2
        g = self.code
        self._code_scale = max(float(np.max(np.abs(g), initial=0.0)), 0.97 * self._code_scale)
        s.blit(
            self._text(
                f"population code g_t ({self.n_units} units; orange: this page), "
                f"max {float(np.max(g, initial=0.0)):.3f}"
            ),
            (x, y - line),
        )
        cb = self._colorbar
        hi = self._text("high", MUTED)
        lo = self._text("field colour: low", MUTED)
        x_hi = x + w - hi.get_width()
        x_cb = x_hi - 4 - cb.get_width()
        s.blit(hi, (x_hi, y - line))
        s.blit(cb, (x_cb, y - line + (hi.get_height() - cb.get_height()) // 2))
        s.blit(lo, (x_cb - 4 - lo.get_width(), y - line))
        pg.draw.line(s, MUTED, (x, y + h - 1), (x + w, y + h - 1), 1)
        n_bars = min(self.n_units, max(1, w // 2))
        group = np.arange(self.n_units) * n_bars // self.n_units  # unit -> bar
        heights = np.zeros(n_bars)
        np.maximum.at(heights, group, np.abs(g) / max(self._code_scale, 1e-12))
        on_page = np.zeros(n_bars, dtype=bool)
        on_page[group[self.shown_units]] = True
        bw = w / n_bars
        gap = 1 if bw >= 3 else 0
        for b in range(n_bars):
            bh = int(round(heights[b] * (h - 2)))
            if bh > 0:
                bx = x + int(b * bw)
                rect = (bx, y + h - 1 - bh, max(1, int((b + 1) * bw) - int(b * bw) - gap), bh)
                s.fill(BAR_PAGE if on_page[b] else BAR, rect)

    def close(self) -> None:
        """Stop the gridness worker and drop cached text (the display belongs to the caller)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor, self._pending = None, None
        self._text_cache.clear()
