"""Grid-cell analyses of any encoder's activity: pure numpy/scipy/scikit-learn functions.

Units: positions, spacings and distances in metres; angles in degrees (``*_deg``) or radians
(phases). Ratemap stacks are ``(N, nx, ny)`` with NaN in unvisited bins.

* ratemaps: :func:`ratemaps`, :func:`occupancy`, :func:`smooth_nan`
* gridness: :func:`autocorrelogram`, :func:`gridness_score`, :func:`grid_scores`,
  :func:`grid_spacing_orientation`; DeepMind's ``scores.py`` convention: :func:`grid_scores_dm`
* modules: :func:`detect_modules`, :func:`harmonic_of`, :func:`module_locking`,
  :func:`module_coherence`, :func:`grid_phases`, :func:`phase_uniformity`
* the same module in several boxes: :func:`match_modules`, :func:`stable_module_ids`
* topology: :func:`torus_betti`, :func:`embed_3d`
* decoding: :func:`decode_position`, :func:`error_growth`, :func:`neural_vs_spatial_distance`
* running an encoder and reporting: :func:`run_encoder`, :func:`analyze` (``gridnav analyze``)
"""

from gridnav_agents._lazy import lazy_exports

# Eager: the function ``ratemaps`` shares its submodule's name, which a lazy attribute would lose
# to the submodule once anything imports it.
from gridnav_agents.analysis.ratemaps import occupancy, ratemaps, smooth_nan

_EXPORTS = {
    "DecodingResult": "decoding",
    "decode_position": "decoding",
    "error_growth": "decoding",
    "fit_decoder": "decoding",
    "neural_vs_spatial_distance": "decoding",
    "analyze": "evaluate",
    "GridScores": "gridness",
    "autocorrelogram": "gridness",
    "grid_scores": "gridness",
    "grid_spacing_orientation": "gridness",
    "gridness_score": "gridness",
    "grid_scores_dm": "gridness_dm",
    "match_modules": "matching",
    "stable_module_ids": "matching",
    "Modules": "modules",
    "detect_modules": "modules",
    "grid_phases": "modules",
    "harmonic_of": "modules",
    "locked_to": "modules",
    "module_coherence": "modules",
    "module_locking": "modules",
    "phase_uniformity": "modules",
    "run_encoder": "runner",
    "step_subsample": "runner",
    "TopologyResult": "topology",
    "embed_3d": "topology",
    "torus_betti": "topology",
}

__all__ = [
    "DecodingResult",
    "GridScores",
    "Modules",
    "TopologyResult",
    "analyze",
    "autocorrelogram",
    "decode_position",
    "detect_modules",
    "embed_3d",
    "error_growth",
    "fit_decoder",
    "grid_phases",
    "grid_scores",
    "grid_scores_dm",
    "grid_spacing_orientation",
    "gridness_score",
    "harmonic_of",
    "locked_to",
    "match_modules",
    "module_coherence",
    "module_locking",
    "neural_vs_spatial_distance",
    "occupancy",
    "phase_uniformity",
    "ratemaps",
    "run_encoder",
    "smooth_nan",
    "stable_module_ids",
    "step_subsample",
    "torus_betti",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
