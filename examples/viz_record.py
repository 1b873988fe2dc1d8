"""Watch firing fields fill in, headless: once wrapped, ``env.render()`` is the composite view.

A SIC encoder (the pretrained one if installed, else a random one) path-integrates the agent's
displacements; ``FiringFieldRender`` accumulates each unit's activity at the agent's true
position into live ratemaps and draws arena, agent, fields and population code. Frames are
``(600, 800, 3)`` uint8 arrays, saved here as a GIF.

Run: python examples/viz_record.py   (writes viz.gif; or: gridnav viz --record viz.gif)
"""

from __future__ import annotations

import os

import gymnasium as gym
import numpy as np
from PIL import Image

import gridnav_env  # noqa: F401  (registers GridNav-Box-v0)
from gridnav_agents.viz import FiringFieldRender, make_source

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # no window needed


def main(
    steps: int = 2000, every: int = 20, out: str = "viz.gif", encoder: str = "pretrained"
) -> dict:
    # One long exploration (no 500-step limit), so the encoder integrates from a single start.
    env = gym.make(
        "GridNav-Box-v0", task="explore", render_mode="rgb_array", max_episode_steps=10**9
    )
    env = FiringFieldRender(env, make_source(encoder, seed=0), units=16, size=(800, 600))
    env.reset(seed=0)
    frames = []
    for t in range(1, steps + 1):
        env.step(np.zeros(2, np.float32))  # explore: the motion model moves the agent
        if t % every == 0:
            frames.append(env.render())
    env.close()
    images = [Image.fromarray(f).quantize(255, method=Image.Quantize.FASTOCTREE) for f in frames]
    images[0].save(out, save_all=True, append_images=images[1:], duration=80, loop=0)
    print(f"{steps} steps, {len(frames)} frames of {frames[0].shape} -> {out}")
    return {"frames": np.array(frames), "path": out}


if __name__ == "__main__":
    main()
