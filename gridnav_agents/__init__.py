"""gridnav_agents: the SIC encoder, its self-supervised pretraining, grid analyses and RL agents."""

from gridnav_agents.threads import set_threads

__all__ = ["set_threads"]
