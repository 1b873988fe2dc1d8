"""pygame drawing of an arena, its home, the agent and its recent path (classic-control pattern).

pygame is imported lazily; headless use works with ``SDL_VIDEODRIVER=dummy``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gridnav_env.arena import Arena

BACKGROUND = (250, 250, 247)
FLOOR = (255, 255, 255)
WALL = (40, 40, 40)
HOLE = (200, 200, 200)
TRAIL = (90, 140, 220)
AGENT = (220, 60, 40)
HOME = (60, 170, 90)


def import_pygame():
    """Import pygame or fail with an install hint."""
    try:
        import pygame
    except ImportError as err:  # pragma: no cover - pygame is a dependency
        raise ImportError("pygame is not installed: run `pip install pygame`") from err
    return pygame


class ArenaRenderer:
    """Draws an :class:`Arena` to scale on a pygame surface.

    Args:
        arena: the arena (metres).
        mode: ``"rgb_array"`` (returns frames) or ``"human"`` (opens a window).
        size: ``(width, height)`` of the drawing in pixels.
        fps: frame rate cap for ``"human"``.
        margin: empty border around the arena, pixels.
    """

    def __init__(
        self,
        arena: Arena,
        mode: str = "rgb_array",
        size: tuple[int, int] = (480, 480),
        fps: int = 30,
        margin: int = 12,
    ):
        if mode not in ("rgb_array", "human"):
            raise ValueError(f"mode must be 'rgb_array' or 'human', got {mode!r}")
        self.arena, self.mode, self.size, self.fps, self.margin = (
            arena,
            mode,
            tuple(size),
            fps,
            margin,
        )
        xmin, ymin, xmax, ymax = arena.bounds
        w, h = self.size
        self.scale = min((w - 2 * margin) / (xmax - xmin), (h - 2 * margin) / (ymax - ymin))
        self.origin = np.array(
            [
                w / 2 - self.scale * (xmin + xmax) / 2,
                h / 2 + self.scale * (ymin + ymax) / 2,
            ]
        )
        self.pygame = import_pygame()
        self.window = None
        self.clock = None
        self.surface = self.pygame.Surface(self.size)

    def world_to_pixel(self, points: np.ndarray) -> np.ndarray:
        """Metres ``(..., 2)`` to pixel coordinates ``(..., 2)`` (y axis up in the world)."""
        p = np.asarray(points, dtype=float)
        return np.stack(
            [self.origin[0] + self.scale * p[..., 0], self.origin[1] - self.scale * p[..., 1]], -1
        )

    def draw_arena(self, surface) -> None:
        pg = self.pygame
        poly = self.arena.polygon
        surface.fill(BACKGROUND)
        pg.draw.polygon(
            surface, FLOOR, self.world_to_pixel(np.asarray(poly.exterior.coords)).tolist()
        )
        for ring in poly.interiors:
            pg.draw.polygon(surface, HOLE, self.world_to_pixel(np.asarray(ring.coords)).tolist())
        for a, b in self.world_to_pixel(self.arena.walls):
            pg.draw.line(surface, WALL, a.tolist(), b.tolist(), 3)

    def draw_agent(
        self,
        surface,
        position: np.ndarray,
        trail: Sequence[np.ndarray] = (),
        home: np.ndarray | None = None,
        home_radius: float = 0.2,
    ) -> None:
        pg = self.pygame
        if home is not None:
            c = self.world_to_pixel(home)
            pg.draw.circle(surface, HOME, c.tolist(), max(2, int(home_radius * self.scale)), 2)
        if len(trail) > 1:
            pts = self.world_to_pixel(np.asarray(trail[-400:]))
            pg.draw.lines(surface, TRAIL, False, pts.tolist(), 2)
        pg.draw.circle(surface, AGENT, self.world_to_pixel(position).tolist(), 6)

    def draw(
        self,
        position: np.ndarray,
        trail: Sequence[np.ndarray] = (),
        home: np.ndarray | None = None,
        home_radius: float = 0.2,
    ) -> np.ndarray | None:
        """Draw one frame; returns ``(H, W, 3)`` uint8 in ``"rgb_array"`` mode, else ``None``."""
        self.draw_arena(self.surface)
        self.draw_agent(self.surface, position, trail, home, home_radius)
        return self.present(self.surface)

    def present(self, surface) -> np.ndarray | None:
        """Show ``surface`` in the window (``"human"``) or return it as an RGB array."""
        pg = self.pygame
        if self.mode == "human":
            if self.window is None:
                pg.init()
                pg.display.init()
                self.window = pg.display.set_mode(surface.get_size())
                pg.display.set_caption("gridnav")
                self.clock = pg.time.Clock()
            pg.event.pump()
            self.window.blit(surface, (0, 0))
            pg.display.flip()
            self.clock.tick(self.fps)
            return None
        return np.transpose(np.array(pg.surfarray.pixels3d(surface)), axes=(1, 0, 2)).copy()

    def close(self) -> None:
        if self.window is not None:
            self.pygame.display.quit()
            self.pygame.quit()
            self.window = None
