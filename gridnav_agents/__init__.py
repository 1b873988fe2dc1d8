"""gridnav_agents: the SIC encoder, its self-supervised pretraining, grid analyses and RL agents."""
