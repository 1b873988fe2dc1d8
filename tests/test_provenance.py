"""Provenance of results: file and weight hashes, the encoder's description, the version."""

import hashlib
import json

import numpy as np
import pytest
import torch

from gridnav_agents.provenance import encoder_provenance, gridnav_version, sha256
from gridnav_agents.sic.checkpoint import resolve_checkpoint, save_checkpoint
from gridnav_agents.sic.model import SICEncoder


def test_sha256_of_a_file_is_that_of_its_bytes(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"abc")
    known = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  # FIPS 180-2
    assert sha256(path) == sha256(str(path)) == known


def test_sha256_of_weights_follows_the_documented_encoding():
    state = {"w": np.array([1, 2], dtype=np.uint8), "b": np.array(3.0, dtype=np.float32)}
    expected = hashlib.sha256(
        b"b\0float32\0[]\0" + np.float32(3.0).tobytes() + b"w\0uint8\0[2]\0\x01\x02"
    ).hexdigest()
    assert sha256(state) == expected
    assert sha256(dict(reversed(state.items()))) == expected  # name order, not insertion order
    as_torch = {k: torch.as_tensor(v) for k, v in state.items()}
    assert sha256(as_torch) == expected  # a tensor hashes as the equal array


def test_sha256_of_a_model_changes_with_any_weight():
    a = SICEncoder(8, 8, generator=torch.Generator().manual_seed(0))
    b = SICEncoder(8, 8, generator=torch.Generator().manual_seed(0))
    assert sha256(a) == sha256(b)
    with torch.no_grad():
        next(b.parameters()).view(-1)[0] += 1e-6
    assert sha256(a) != sha256(b)
    assert sha256(object()) is None


def test_encoder_provenance_from_a_checkpoint_and_from_memory(tmp_path):
    model = SICEncoder(8, 8, generator=torch.Generator().manual_seed(1))
    path = save_checkpoint(tmp_path / "e.safetensors", model, config={"seq_len": 40})
    prov = encoder_provenance(model, path)
    assert prov == {
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "sha256_of": "checkpoint file",
        "checkpoint": str(path),
        "config": {"seq_len": 40},
        "encoder_args": model.config(),
    }
    memory = encoder_provenance(model)
    assert memory["sha256"] == sha256(model) and memory["sha256_of"] == "weights"
    assert memory["config"] is None and memory["encoder_args"] == model.config()
    assert json.dumps(prov) and json.dumps(memory)  # JSON-ready


def test_pretrained_provenance_carries_its_config():
    path = resolve_checkpoint("pretrained")
    sidecar = json.loads(path.with_suffix(".json").read_text())
    prov = encoder_provenance(checkpoint=path)
    assert prov["config"] == sidecar["config"] and prov["encoder_args"] == sidecar["encoder"]


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        encoder_provenance(checkpoint=tmp_path / "none.safetensors")
    assert gridnav_version()
