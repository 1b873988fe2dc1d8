"""PPO homing on a frozen SIC encoder: the encoder integrates the velocity stream, PPO reads
its code.

Run: python examples/homing_ppo.py [ENCODER]   (ENCODER: a SIC run directory or checkpoint;
default the shipped "pretrained" encoder, else a randomly initialised one, with a notice)
"""

import sys

import torch
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv

from gridnav_agents.rl import evaluate_homing, make_homing_env, resolve_encoder, summarize_episodes


def main(steps: int = 20_000, episodes: int = 100, seed: int = 0, encoder: str | None = None):
    torch.set_num_threads(1)
    try:
        enc = resolve_encoder(encoder or "pretrained")
    except FileNotFoundError as err:
        if encoder is not None:
            raise
        print(f"{err}\n-> using a randomly initialised encoder instead")
        enc = resolve_encoder("random", seed=seed)
    env_kwargs = {
        "box_size": 1.5,
        "motion": "uniform",
        "outbound_steps": 20,
        "home_radius": 0.15,
        "max_return_steps": 20,
    }
    # One encoder object serves every env; each EncoderObservation keeps its own state.
    venv = DummyVecEnv([lambda: make_homing_env(enc, **env_kwargs)] * 8)
    venv.seed(seed)
    model = PPO("MlpPolicy", venv, n_steps=128, batch_size=256, seed=seed, device="cpu")
    model.learn(steps)
    summary = summarize_episodes(
        evaluate_homing(model, make_homing_env(enc, **env_kwargs), episodes, seed=10_000)
    )
    print(
        f"after {steps} env steps: success {summary['success_rate']:.2f}, "
        f"return steps / optimal {summary['step_ratio_mean']:.2f}"
    )
    return summary


if __name__ == "__main__":
    main(encoder=sys.argv[1] if len(sys.argv) > 1 else None)
