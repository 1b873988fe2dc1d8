"""SIC: the recurrent grid-cell encoder and its self-supervised pretraining (paper §5.1-5.3).

* :class:`SICEncoder` — ``g_t = NormReLU(MLP(v_t) g_{t-1})`` (``model.py``).
* ``losses`` — separation, invariance, capacity, conformal isometry (eqs. 4-7, per-pair means).
* :class:`SICConfig` / :data:`PRESETS` — Table 1 hyperparameters (``config.py``).
* ``train.train`` — the pretraining loop, and ``gridnav pretrain`` (``train.py``).
* :func:`load_encoder` — a trained encoder from a safetensors checkpoint (``checkpoint.py``).
* ``rundir`` / ``runlock`` — a run directory's contents and its one writer
  (:class:`RunLockedError` when another holds it); ``memory`` — what a setting needs.
"""

from gridnav_agents._lazy import lazy_exports

_EXPORTS = {
    "CheckpointError": "checkpoint",
    "load_encoder": "checkpoint",
    "PRESETS": "config",
    "SICConfig": "config",
    "RunLockedError": "runlock",
    "NormReLU": "model",
    "SICEncoder": "model",
    "norm_relu": "model",
}

__all__ = [
    "PRESETS",
    "CheckpointError",
    "NormReLU",
    "RunLockedError",
    "SICConfig",
    "SICEncoder",
    "load_encoder",
    "norm_relu",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
