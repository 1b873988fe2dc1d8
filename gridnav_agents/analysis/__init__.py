"""Grid-cell analyses of any encoder's activity: pure numpy/scipy/scikit-learn functions.

Units: positions, spacings and distances in metres; angles in degrees (``*_deg``) or radians
(phases). Ratemap stacks are ``(N, nx, ny)`` with NaN in unvisited bins.

* ratemaps: :func:`ratemaps`, :func:`occupancy`, :func:`smooth_nan`
* gridness: :func:`autocorrelogram`, :func:`gridness_score`, :func:`grid_scores`,
  :func:`grid_spacing_orientation`
* modules: :func:`detect_modules`, :func:`harmonic_of`, :func:`module_locking`,
  :func:`module_coherence`, :func:`grid_phases`, :func:`phase_uniformity`
* topology: :func:`torus_betti`, :func:`embed_3d`
* decoding: :func:`decode_position`, :func:`error_growth`, :func:`neural_vs_spatial_distance`
* running an encoder and reporting: :func:`run_encoder`, :func:`analyze` (``gridnav analyze``)
"""

from gridnav_agents.analysis.decoding import (
    DecodingResult,
    decode_position,
    error_growth,
    fit_decoder,
    neural_vs_spatial_distance,
)
from gridnav_agents.analysis.evaluate import analyze
from gridnav_agents.analysis.gridness import (
    GridScores,
    autocorrelogram,
    grid_scores,
    grid_spacing_orientation,
    gridness_score,
)
from gridnav_agents.analysis.modules import (
    Modules,
    detect_modules,
    grid_phases,
    harmonic_of,
    locked_to,
    module_coherence,
    module_locking,
    phase_uniformity,
)
from gridnav_agents.analysis.ratemaps import occupancy, ratemaps, smooth_nan
from gridnav_agents.analysis.runner import run_encoder, step_subsample
from gridnav_agents.analysis.topology import TopologyResult, embed_3d, torus_betti

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
    "grid_spacing_orientation",
    "gridness_score",
    "harmonic_of",
    "locked_to",
    "module_coherence",
    "module_locking",
    "neural_vs_spatial_distance",
    "occupancy",
    "phase_uniformity",
    "ratemaps",
    "run_encoder",
    "smooth_nan",
    "step_subsample",
    "torus_betti",
]
