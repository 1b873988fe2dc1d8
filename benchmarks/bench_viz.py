"""Frames per second of the composite firing-field view, headless (issue 7).

Goal: >= 60 fps for the composite with 16 units at 800 x 600. Measured after a warm-up so the
fields are filled; gridness is recomputed every 60 frames as in the viewer. Three figures:

* ``draw_fps``: drawing the composite onto a surface (what the window shows each frame);
* ``frame_fps``: drawing plus the copy to an ``(H, W, 3)`` uint8 array (``env.render()``);
* ``loop_fps``: one env step, one step of a 128-unit SICEncoder, the online ratemap update and
  ``env.render()``: the headless viewer end to end.

Prints JSON. Run: SDL_VIDEODRIVER=dummy python benchmarks/bench_viz.py
"""

from __future__ import annotations

import json
import os
import time

import numpy as np

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

from gridnav_agents.viz import FiringFieldRender, make_env, make_source  # noqa: E402


def best_rate(fn, n: int, repeats: int = 3) -> float:
    """Best calls per second of ``fn`` over ``repeats`` runs of ``n`` calls."""
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, time.perf_counter() - t0)
    return n / best


def main(n_frames: int = 300, units: int = 16, size: tuple[int, int] = (800, 600)) -> dict:
    env = FiringFieldRender(
        make_env(box=2.2, task="explore"),
        make_source("random", seed=0),
        units=units,
        size=size,
        gridness_every=60,
    )
    env.reset(seed=0)
    action = np.zeros(2, np.float32)
    for _ in range(3000):  # fill the fields
        env.step(action)
    view = env.view

    def loop() -> None:
        env.step(action)
        env.render()

    result = {
        "units": units,
        "size": list(size),
        "n_units": env.source.n_units,
        "draw_fps": round(best_rate(view.draw, n_frames), 1),
        "frame_fps": round(best_rate(view.frame, n_frames), 1),
        "loop_fps": round(best_rate(loop, n_frames), 1),
        "goal_fps": 60,
    }
    t0 = time.perf_counter()
    view._gridness_at = -1  # force one recomputation of the page's gridness
    view.gridness()
    result["gridness_ms_per_page"] = round(1e3 * (time.perf_counter() - t0), 2)
    result["meets_goal"] = result["frame_fps"] >= 60
    env.close()
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
