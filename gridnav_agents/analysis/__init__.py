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
* stability along long trajectories: :func:`map_stability`, :func:`agent_gridness`,
  :func:`phase_error`, :func:`phase_drift`; on an encoder: :func:`measure_stability`
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
    "grid_fraction": "gridness",
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
    "MapStability": "stability",
    "PhaseDrift": "stability",
    "agent_gridness": "stability",
    "map_correlation": "stability",
    "map_stability": "stability",
    "phase_drift": "stability",
    "phase_error": "stability",
    "window_edges": "stability",
    "Stability": "stability_run",
    "measure_stability": "stability_run",
    "TopologyResult": "topology",
    "embed_3d": "topology",
    "torus_betti": "topology",
}

__all__ = [
    "DecodingResult",
    "GridScores",
    "MapStability",
    "Modules",
    "PhaseDrift",
    "Stability",
    "TopologyResult",
    "agent_gridness",
    "analyze",
    "autocorrelogram",
    "decode_position",
    "detect_modules",
    "embed_3d",
    "error_growth",
    "fit_decoder",
    "grid_fraction",
    "grid_phases",
    "grid_scores",
    "grid_scores_dm",
    "grid_spacing_orientation",
    "gridness_score",
    "harmonic_of",
    "locked_to",
    "map_correlation",
    "map_stability",
    "match_modules",
    "measure_stability",
    "module_coherence",
    "module_locking",
    "neural_vs_spatial_distance",
    "occupancy",
    "phase_drift",
    "phase_error",
    "phase_uniformity",
    "ratemaps",
    "run_encoder",
    "smooth_nan",
    "stable_module_ids",
    "step_subsample",
    "torus_betti",
    "window_edges",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
