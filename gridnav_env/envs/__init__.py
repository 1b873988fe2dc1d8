"""Gymnasium environments of gridnav."""

from gridnav_env.envs.box import GridNavEnv

__all__ = ["GridNavEnv"]
