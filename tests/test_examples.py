"""Every example runs and does what it says (so they never rot)."""

import runpy
from pathlib import Path

import numpy as np

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_random_rollout_example():
    ns = runpy.run_path(str(EXAMPLES / "random_rollout.py"))
    out = ns["main"](steps=50, seed=1)
    path = out["path"]
    assert 2 <= len(path) <= 51
    assert np.all(np.abs(path) <= 1.1)  # inside the 2.2 m box
    assert np.linalg.norm(np.diff(path, axis=0), axis=-1).max() <= 0.15 * np.sqrt(2) + 1e-9
