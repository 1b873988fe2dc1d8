"""Arenas: shapely polygons in metres, with vectorised geometry for many points at once.

An :class:`Arena` is a valid polygon (holes allowed: internal walls, pillars, L-shapes). Every
method takes points of shape ``(..., 2)`` in metres and works on all of them at once with numpy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry import Polygon
from shapely.geometry.polygon import orient

from gridnav_env._validate import MAX_METRES, check_real

__all__ = ["Arena"]

# Distance (metres) a reflected point is pushed back inside, so it never sits exactly on a wall.
_WALL_EPS = 1e-9


class Arena:
    """A 2-D arena bounded by walls: a valid shapely polygon in metres.

    Args:
        polygon: a ``shapely.geometry.Polygon`` (holes allowed) or a sequence of ``(x, y)``
            vertices in metres, each coordinate within ``MAX_METRES`` (1e6 m) of the origin.

    Attributes:
        polygon: the polygon, oriented counter-clockwise (holes clockwise).
        walls: ``(K, 2, 2)`` wall segments ``[[x0, y0], [x1, y1]]``; the arena lies to the left of
            each segment, so ``normals`` (the left normals) point into the arena.
        normals: ``(K, 2)`` unit inward normals of the walls.
    """

    def __init__(self, polygon: Polygon | Sequence[Sequence[float]]):
        if not isinstance(polygon, Polygon):
            try:
                coords = np.asarray(polygon, dtype=float)
            except (TypeError, ValueError) as err:
                raise ValueError(
                    f"polygon must be a Polygon or (x, y) vertices, got {polygon!r}"
                ) from err
            if coords.ndim != 2 or coords.shape[1] != 2 or len(coords) < 3:
                raise ValueError(
                    f"polygon needs at least 3 (x, y) vertices, got shape {coords.shape}"
                )
            polygon = Polygon(coords)
        coords = np.concatenate(
            [np.asarray(polygon.exterior.coords)]
            + [np.asarray(r.coords) for r in polygon.interiors]
        )
        if not np.all(np.isfinite(coords)):
            raise ValueError(f"polygon has non-finite vertices: {polygon.wkt}")
        if np.max(np.abs(coords)) > MAX_METRES:
            raise ValueError(
                f"polygon vertices must lie within {MAX_METRES:g} m of the origin, got "
                f"{np.max(np.abs(coords)):g} m"
            )
        if polygon.is_empty or polygon.area <= 0:
            raise ValueError(f"polygon must have a positive area, got {polygon.wkt}")
        if not polygon.is_valid:
            reason = shapely.is_valid_reason(polygon)
            raise ValueError(f"polygon is not valid ({reason}): {polygon.wkt}")
        self.polygon: Polygon = orient(polygon, sign=1.0)
        rings = [self.polygon.exterior, *self.polygon.interiors]
        segments = []
        for ring in rings:
            c = np.asarray(ring.coords, dtype=float)
            segments.append(np.stack([c[:-1], c[1:]], axis=1))
        walls = np.concatenate(segments)
        lengths = np.linalg.norm(walls[:, 1] - walls[:, 0], axis=-1)
        self.walls: np.ndarray = walls[lengths > 0]
        d = self.walls[:, 1] - self.walls[:, 0]
        d = d / np.linalg.norm(d, axis=-1, keepdims=True)
        self.normals: np.ndarray = np.stack([-d[:, 1], d[:, 0]], axis=-1)
        # Plain-float copy of the walls for the single-point fast paths (no numpy overhead).
        e = self.walls[:, 1] - self.walls[:, 0]
        self._wall_tuples = [
            (
                float(a[0]),
                float(a[1]),
                float(v[0]),
                float(v[1]),
                float(n[0]),
                float(n[1]),
                float(v @ v),
            )
            for a, v, n in zip(self.walls[:, 0], e, self.normals, strict=True)
        ]

    # ------------------------------------------------------------------ constructors
    @classmethod
    def box(cls, size: float = 2.2) -> Arena:
        """A square box of side ``size`` metres centred at the origin."""
        size = check_real("size", size, positive=True, at_most=2 * MAX_METRES, unit="metres")
        return cls.rectangle(size, size)

    @classmethod
    def rectangle(cls, width: float, height: float) -> Arena:
        """A ``width`` × ``height`` metre rectangle centred at the origin."""
        w = check_real("width", width, positive=True, at_most=2 * MAX_METRES, unit="metres")
        h = check_real("height", height, positive=True, at_most=2 * MAX_METRES, unit="metres")
        w, h = w / 2, h / 2
        return cls(Polygon([(-w, -h), (w, -h), (w, h), (-w, h)]))

    # ------------------------------------------------------------------ properties
    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(xmin, ymin, xmax, ymax)`` in metres."""
        return tuple(float(b) for b in self.polygon.bounds)  # type: ignore[return-value]

    @property
    def area(self) -> float:
        """Area in square metres."""
        return float(self.polygon.area)

    @property
    def extent(self) -> float:
        """The larger side of the bounding box, metres."""
        xmin, ymin, xmax, ymax = self.bounds
        return max(xmax - xmin, ymax - ymin)

    def __repr__(self) -> str:
        xmin, ymin, xmax, ymax = self.bounds
        return (
            f"Arena(area={self.area:.3g} m², bounds=({xmin:.3g}, {ymin:.3g}, {xmax:.3g}, "
            f"{ymax:.3g}), walls={len(self.walls)})"
        )

    # ------------------------------------------------------------------ geometry
    def contains(self, points: np.ndarray) -> np.ndarray:
        """Whether each point (metres, ``(..., 2)``) lies strictly inside the arena."""
        p = np.asarray(points, dtype=float)
        return shapely.contains_xy(self.polygon, p[..., 0], p[..., 1])

    def wall_vectors(self, points: np.ndarray) -> np.ndarray:
        """Vectors from the nearest point of every wall to each point: ``(..., K, 2)`` metres."""
        p = np.asarray(points, dtype=float)[..., None, :]
        a, b = self.walls[:, 0], self.walls[:, 1]
        ab = b - a
        t = np.einsum("...kd,kd->...k", p - a, ab) / np.einsum("kd,kd->k", ab, ab)
        closest = a + np.clip(t, 0.0, 1.0)[..., None] * ab
        return p - closest

    def wall_distance(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distance (metres) to the nearest wall and that wall's unit inward normal.

        Returns ``(distance (...), normal (..., 2))``.
        """
        dist = np.linalg.norm(self.wall_vectors(points), axis=-1)
        k = np.argmin(dist, axis=-1)
        return np.take_along_axis(dist, k[..., None], axis=-1)[..., 0], self.normals[k]

    def nearest_wall_point(
        self, x: float, y: float
    ) -> tuple[float, list[tuple[float, float, float]]]:
        """Single-point fast path: distance (m) to the nearest wall, and for every wall the
        ``(distance, ux, uy)`` with ``(ux, uy)`` the unit vector from the wall to the point."""
        out, best = [], math.inf
        for ax, ay, ex, ey, nx, ny, ee in self._wall_tuples:
            t = min(1.0, max(0.0, ((x - ax) * ex + (y - ay) * ey) / ee))
            vx, vy = x - ax - t * ex, y - ay - t * ey
            dist = math.hypot(vx, vy)
            if dist > 0:
                out.append((dist, vx / dist, vy / dist))
            else:
                out.append((0.0, nx, ny))
            best = min(best, dist)
        return best, out

    def reflect_point(
        self, x: float, y: float, dx: float, dy: float, max_bounces: int = 8
    ) -> tuple[float, float, float, float]:
        """Single-point fast path of :meth:`reflect`: returns ``(x, y, hx, hy)``, the end point
        and the reflected heading (same length as ``(dx, dy)``), in plain floats."""
        hx, hy = dx, dy
        x0, y0 = x, y
        for _ in range(max_bounces):
            best_t, best = math.inf, None
            for ax, ay, ex, ey, nx, ny, _ee in self._wall_tuples:
                if dx * nx + dy * ny >= 0:
                    continue  # moving away from (or along) this wall
                denom = dx * ey - dy * ex
                if denom == 0:
                    continue
                px, py = ax - x, ay - y
                t = (px * ey - py * ex) / denom
                s = (px * dy - py * dx) / denom
                if 0 <= t <= 1 and 0 <= s <= 1 and t < best_t:
                    best_t, best = t, (nx, ny)
            if best is None:
                x, y = x + dx, y + dy
                break
            nx, ny = best
            x, y = x + best_t * dx + _WALL_EPS * nx, y + best_t * dy + _WALL_EPS * ny
            rx, ry = (1 - best_t) * dx, (1 - best_t) * dy
            k = rx * nx + ry * ny
            dx, dy = rx - 2 * k * nx, ry - 2 * k * ny
            k = hx * nx + hy * ny
            hx, hy = hx - 2 * k * nx, hy - 2 * k * ny
        if not shapely.contains_xy(self.polygon, x, y):  # numerical safety net
            x, y = x0, y0
        return x, y, hx, hy

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` positions uniformly inside the arena, ``(n, 2)`` metres (rejection sampling)."""
        if int(n) != n or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n!r}")
        n = int(n)
        xmin, ymin, xmax, ymax = self.bounds
        out = np.empty((0, 2))
        while len(out) < n:
            m = max(16, int(1.2 * (n - len(out)) * (xmax - xmin) * (ymax - ymin) / self.area))
            cand = rng.uniform((xmin, ymin), (xmax, ymax), size=(m, 2))
            out = np.concatenate([out, cand[self.contains(cand)]])
        return out[:n]

    def reflect(
        self, start: np.ndarray, step: np.ndarray, max_bounces: int = 8
    ) -> tuple[np.ndarray, np.ndarray]:
        """Move points by ``step`` with specular reflection at the walls.

        Args:
            start: ``(P, 2)`` positions inside the arena, metres.
            step: ``(P, 2)`` intended displacements, metres.
            max_bounces: reflections handled per step; a point that would need more stays where
                its last bounce left it (still inside).

        Returns:
            ``(end, direction)``: end positions ``(P, 2)``, always inside the arena, and the
            intended displacement after the reflections ``(P, 2)`` (same length as ``step``; its
            direction is the heading after bouncing).
        """
        p = np.array(start, dtype=float, copy=True)
        d = np.array(step, dtype=float, copy=True)
        heading = d.copy()
        a, b = self.walls[:, 0], self.walls[:, 1]
        e = b - a
        active = np.ones(len(p), dtype=bool)
        for _ in range(max_bounces):
            idx = np.flatnonzero(active)
            if idx.size == 0:
                break
            pi, di = p[idx], d[idx]
            # Solve pi + t di = a + s e for every (point, wall): 2x2 systems via cross products.
            denom = di[:, None, 0] * e[None, :, 1] - di[:, None, 1] * e[None, :, 0]
            ap = a[None] - pi[:, None]
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                t = (ap[..., 0] * e[None, :, 1] - ap[..., 1] * e[None, :, 0]) / denom
                s = (ap[..., 0] * di[:, None, 1] - ap[..., 1] * di[:, None, 0]) / denom
            # Only walls approached from the inside (moving against the inward normal) block.
            approaching = np.einsum("pd,kd->pk", di, self.normals) < 0
            hit = approaching & (t >= 0) & (t <= 1) & (s >= 0) & (s <= 1) & np.isfinite(t)
            t = np.where(hit, t, np.inf)
            k = np.argmin(t, axis=1)
            tk = t[np.arange(len(idx)), k]
            bounced = np.isfinite(tk)
            done = idx[~bounced]
            p[done] += d[done]
            active[done] = False
            bi, kb, tb = idx[bounced], k[bounced], tk[bounced]
            n = self.normals[kb]
            p[bi] = p[bi] + tb[:, None] * d[bi] + _WALL_EPS * n
            rest = (1.0 - tb)[:, None] * d[bi]
            d[bi] = rest - 2 * np.sum(rest * n, axis=-1, keepdims=True) * n
            h = heading[bi]
            heading[bi] = h - 2 * np.sum(h * n, axis=-1, keepdims=True) * n
        # Points still bouncing after max_bounces stay at their last (inside) position.
        outside = ~self.contains(p)
        if np.any(outside):  # numerical safety net: never leave the arena
            p[outside] = np.asarray(start, dtype=float)[outside]
        return p, heading
