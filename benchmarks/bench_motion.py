"""Velocity-stream and env-step throughput, against RatInABox measured in the same run.

Prints JSON. Goals (issue 2): SmoothMotion.rollout >= 500x RatInABox's Agent.update() in
agent-steps per second (1,024 agents x 1,000 steps, 2.2 m box, same parameters), and
>= 20,000 env.step() per second for one GridNav-Box-v0 in "homing" without rendering.

Run: python benchmarks/bench_motion.py   (needs `pip install -e ".[bench]"` for RatInABox)
"""

from __future__ import annotations

import json
import time

import gymnasium as gym
import numpy as np

import gridnav_env  # noqa: F401
from gridnav_env import Arena, SmoothMotion


def bench_gridnav(n_agents: int = 1024, n_steps: int = 1000, repeats: int = 3) -> float:
    arena, motion = Arena.box(2.2), SmoothMotion()
    best = np.inf
    for r in range(repeats):
        rng = np.random.default_rng(r)
        t0 = time.perf_counter()
        motion.rollout(n_agents, n_steps, rng, arena=arena)
        best = min(best, time.perf_counter() - t0)
    return n_agents * n_steps / best


def bench_ratinabox(n_steps: int = 2000, repeats: int = 3) -> float | None:
    try:
        from ratinabox.Agent import Agent
        from ratinabox.Environment import Environment
    except ImportError:
        return None
    env = Environment(params={"scale": 2.2, "aspect": 1.0})
    agent = Agent(
        env,
        params={
            "dt": 0.05,
            "speed_mean": 0.08,
            "speed_coherence_time": 0.7,
            "rotational_velocity_std": np.deg2rad(120),
            "rotational_velocity_coherence_time": 0.08,
            "thigmotaxis": 0.5,
            "wall_repel_distance": 0.1,
            "wall_repel_strength": 1.0,
        },
    )
    for _ in range(100):  # warm-up
        agent.update()
    best = np.inf
    for _ in range(repeats):  # best of several, as for gridnav
        t0 = time.perf_counter()
        for _ in range(n_steps):
            agent.update()
        best = min(best, time.perf_counter() - t0)
    return n_steps / best


def bench_env_steps(n_steps: int = 20000) -> float:
    env = gym.make("GridNav-Box-v0", task="homing").unwrapped  # no TimeLimit/checker wrappers
    env.reset(seed=0)
    actions = np.random.default_rng(0).uniform(-1, 1, size=(n_steps, 2)).astype(np.float32)
    t0 = time.perf_counter()
    for a in actions:
        _, _, term, _, _ = env.step(a)
        if term:
            env.reset()
    return n_steps / (time.perf_counter() - t0)


def main() -> dict:
    ours = bench_gridnav()
    rib = bench_ratinabox()
    env_sps = bench_env_steps()
    result = {
        "smooth_motion_agent_steps_per_s": round(ours),
        "ratinabox_agent_steps_per_s": None if rib is None else round(rib),
        "speedup_vs_ratinabox": None if rib is None else round(ours / rib, 1),
        "speedup_goal": 500,
        "env_steps_per_s_homing": round(env_sps),
        "env_steps_goal": 20000,
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
