"""Supervised path integration with place-cell targets (Sorscher et al. 2019/2023), the
baseline beside SIC: the same run directories, encoder interface and analyses.

* :class:`SupervisedEncoder` — a ReLU RNN (or the SIC recurrence) whose start state encodes the
  start position's place cells and whose linear readout predicts them (``model.py``).
* :func:`place_cell_activity` — difference-of-Gaussians place-cell targets (``place_cells.py``).
* :class:`SupervisedConfig` / :data:`SUPERVISED_PRESETS` — hyperparameters (``config.py``).
* ``train`` — batches and the loss; ``gridnav pretrain --objective supervised`` trains it with
  the SIC pretraining loop (``train.py``).
"""

from gridnav_agents._lazy import lazy_exports

_EXPORTS = {
    "SUPERVISED_PRESETS": "config",
    "SupervisedConfig": "config",
    "SupervisedEncoder": "model",
    "place_cell_activity": "place_cells",
    "place_cell_centres": "place_cells",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
