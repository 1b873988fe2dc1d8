"""The encoder shipped inside the package (``load_encoder("pretrained")``, issue 5)."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import gridnav_agents
from gridnav_agents.sic import SICEncoder, load_encoder
from gridnav_agents.sic.checkpoint import PRETRAINED_NAME, load_checkpoint
from gridnav_agents.sic.config import PRESETS, SICConfig

PRETRAINED = Path(gridnav_agents.__file__).parent / "pretrained"


def test_pretrained_files_are_small_and_documented():
    weights = PRETRAINED / PRETRAINED_NAME
    assert weights.is_file()
    assert weights.stat().st_size <= 10 * 1024 * 1024
    info = json.loads((PRETRAINED / "sic_encoder.json").read_text())
    # the JSON config is a valid SICConfig and matches the checkpoint's own copy
    config = SICConfig.from_dict(info["config"])
    meta = load_checkpoint(weights, tensors="model").meta
    assert SICConfig.from_dict(meta["config"]) == config
    assert info["step"] == meta["step"]
    # ... and is the `cpu` preset with the documented overrides (the command in the JSON)
    assert f"n_steps={config.n_steps}" in info["overrides"]
    assert config.to_dict() == PRESETS["cpu"].with_overrides(info["overrides"]).to_dict()
    assert info["command"].endswith("--set " + " ".join(info["overrides"]))


def test_load_pretrained_returns_the_documented_encoder():
    enc = load_encoder("pretrained")
    assert isinstance(enc, SICEncoder) and not enc.training
    assert enc.n_units == 128 and enc.step_scale == pytest.approx(0.15) and enc.dt is None
    v = torch.zeros(3, 5, 2)
    with torch.no_grad():
        g = enc(v)
    assert g.shape == (3, 5, 128)
    assert torch.all(g >= 0)
    np.testing.assert_allclose(torch.linalg.vector_norm(g, dim=-1).numpy(), 1.0, atol=1e-5)


def test_pretrained_encoder_is_a_grid_code():
    """Cheap check of the documented numbers: most active units are grid cells in a 2 m box
    (docs/results.md reports the full analysis)."""
    from gridnav_agents.analysis import analyze

    info = json.loads((PRETRAINED / "sic_encoder.json").read_text())
    rep = analyze(
        load_encoder("pretrained"),
        [2.0],
        None,
        seed=0,
        topology=False,
        samples_per_m2=500,
        stability=False,
    )
    box = rep["boxes"]["2"]
    assert box["n_active"] >= 0.5 * info["analysis_2m"]["n_active"]
    assert box["frac_grid"] >= 0.5
    assert abs(box["frac_grid"] - info["analysis_2m"]["frac_grid"]) <= 0.25
    assert box["n_modules"] >= 1
