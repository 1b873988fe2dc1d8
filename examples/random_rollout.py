"""A random rollout in GridNav-Box-v0: the Gymnasium API and the velocity stream it supplies.

Run: python examples/random_rollout.py
"""

import gymnasium as gym
import numpy as np

import gridnav_env  # noqa: F401  (registers GridNav-Box-v0)


def main(steps: int = 200, seed: int = 0) -> dict:
    env = gym.make("GridNav-Box-v0", box_size=2.2, task="homing", outbound_steps=20)
    obs, info = env.reset(seed=seed)
    env.action_space.seed(seed)
    total_reward, path = 0.0, [info["position"]]
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        total_reward += reward
        path.append(info["position"])
        if terminated or truncated:
            break
    env.close()
    path = np.array(path)
    print(
        f"{len(path) - 1} steps, return {total_reward:.2f}, final phase {info['phase']}, "
        f"distance from home {np.linalg.norm(path[-1] - info['home']):.2f} m"
    )
    return {"path": path, "return": total_reward}


if __name__ == "__main__":
    main()
