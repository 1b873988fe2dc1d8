"""Figures of the analyses: what they mark, label and mask, read back from the Figure objects."""

import matplotlib
import matplotlib.colors as mcolors
import numpy as np
import pytest

from gridnav_agents.analysis.plots import (
    UNVISITED_COLOUR,
    module_colour,
    mosaic_rgba,
    plot_autocorrelograms,
    plot_distance,
    plot_module_histograms,
    plot_ratemaps,
    plot_stability,
    plot_torus,
)


def texts(fig) -> list[str]:
    """Every text of a figure: its own, its axes', their titles and labels, legend entries."""
    out = [t.get_text() for t in fig.texts]
    out += [fig._suptitle.get_text()] if fig._suptitle is not None else []
    for ax in fig.axes:
        out += [t.get_text() for t in ax.texts]
        out += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        if hasattr(ax, "get_zlabel"):
            out.append(ax.get_zlabel())
    for legend in fig.legends + [ax.get_legend() for ax in fig.axes if ax.get_legend()]:
        out += [t.get_text() for t in legend.get_texts()] + [legend.get_title().get_text()]
    return out


def maps_with_holes() -> np.ndarray:
    """Three 20 x 10 ramps (x increasing); map 1 has unvisited bins (4, 2) and (7, 9)."""
    maps = np.tile(np.arange(20.0)[:, None], (3, 1, 10))
    maps[1, 4, 2] = maps[1, 7, 9] = np.nan
    return maps


def test_unvisited_bins_are_grey_and_gaps_white():
    maps = maps_with_holes()
    rgba = mosaic_rgba(maps, n_cols=3, cmap="jet")
    assert rgba.shape == (10 + 1, 3 * 21 - 1, 4)  # one gap row under the tiles
    # tile 1 starts at column 21; bin (i, j) sits at column 21 + i, row ny - 1 - j (y up)
    np.testing.assert_array_equal(rgba[10 - 1 - 2, 21 + 4], UNVISITED_COLOUR)
    np.testing.assert_array_equal(rgba[10 - 1 - 9, 21 + 7], UNVISITED_COLOUR)
    assert np.all(rgba[:, 20] == 1) and np.all(rgba[10] == 1)  # gaps between and under tiles
    grey = np.all(rgba == UNVISITED_COLOUR, axis=-1)
    assert grey.sum() == 2  # nothing else is grey: visited bins take the colour map
    np.testing.assert_allclose(rgba[5, 19], matplotlib.colormaps["jet"](1.0))  # each map's max
    np.testing.assert_allclose(rgba[5, 0], matplotlib.colormaps["jet"](0.0))  # and min


def test_ratemap_figure_masks_states_scaling_scale_bar_key_and_caption():
    maps = maps_with_holes()
    labels = np.array([1, -1, 0])
    fig = plot_ratemaps(maps, labels, np.array([0.5, np.nan, 1.2]), bin_size=0.1,
                        caption="maps made from 3 trajectories")  # fmt: skip
    image = fig.axes[0].images[0].get_array()
    assert np.sum(np.all(image == UNVISITED_COLOUR, axis=-1)) == 2
    words = texts(fig)
    assert "1 m" in words  # 20 bins of 0.1 m: the bar is a round length of at most half of it
    assert any("each map scaled to its own range" in t for t in words)  # the colour bar's meaning
    assert any(t.startswith("tile title: unit:module gridness, e.g. 2:0 1.20") for t in words)
    assert any("maps made from 3 trajectories" in t for t in words)
    tiles = {t.get_text(): t.get_color() for t in fig.axes[0].texts if ":" in t.get_text()}
    assert tiles == {"2:0 1.20": module_colour(0), "0:1 0.50": module_colour(1),
                     "1:- nan": module_colour(-1)}  # fmt: skip
    assert len(fig.axes) == 2  # the mosaic and its colour bar


def test_autocorrelogram_figure_names_undefined_lags():
    fig = plot_autocorrelograms(maps_with_holes(), np.array([0.1, 0.9, 0.5]), bin_size=0.05)
    words = texts(fig)
    assert "lag with too little overlap" in words and "0.5 m" in words
    assert [t.get_text() for t in fig.axes[0].texts][:3] == ["1 0.90", "2 0.50", "0 0.10"]


def test_modules_figure_marks_harmonic_locked_and_incoherent_groups():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2, -1], 5)
    spacing = np.repeat([0.46, 0.75, 1.29, np.nan], 5) + 0.01 * rng.normal(size=20)
    orientation = rng.uniform(0, 60, 20)
    modules = [
        {"id": 0, "n_units": 5, "spacing_m": 0.46, "harmonic_of": None, "locked_to": None,
         "lock_r2": 0.05, "coherence_r2": -0.01},
        {"id": 1, "n_units": 5, "spacing_m": 0.75, "harmonic_of": 2, "locked_to": 2,
         "lock_r2": 0.92, "coherence_r2": 0.33},
        {"id": 2, "n_units": 5, "spacing_m": 1.29, "harmonic_of": None, "locked_to": None,
         "lock_r2": None, "coherence_r2": 0.92},
    ]  # fmt: skip
    fig = plot_module_histograms(spacing, orientation, labels, modules=modules, title="t")
    legend = fig.legends[0]
    entries = [t.get_text() for t in legend.get_texts()]
    assert entries == [
        "module 0: 0.46 m, 5 units\n  incoherent (split-half R² -0.01)",
        "module 1: 0.75 m, 5 units\n  harmonic of module 2 and locked to it (R² 0.92)",
        "module 2: 1.29 m, 5 units\n  independent",
    ]
    handles = legend.legend_handles
    assert [h.get_hatch() for h in handles] == ["///", "///", None]
    for k, h in enumerate(handles):  # the colours of the ratemap tiles' titles
        assert mcolors.same_color(h.get_facecolor()[:3], module_colour(k))
    words = texts(fig)
    assert "grid spacing (m)" in words and "grid orientation (degrees, modulo 60°)" in words


def test_modules_figure_without_modules():
    fig = plot_module_histograms(np.full(3, np.nan), np.full(3, np.nan), -np.ones(3, int))
    assert "no grid modules" in texts(fig)


def test_torus_and_distance_axes_are_labelled():
    rng = np.random.default_rng(1)
    lifetimes = [np.array([1.0, 0.5]), np.array([0.8, 0.7, 0.1])]
    fig = plot_torus(rng.normal(size=(50, 3)), rng.uniform(0, 6, 50), lifetimes, title="m")
    words = texts(fig)
    for label in ("embedding 1 (a.u.)", "embedding 2 (a.u.)", "embedding 3 (a.u.)",
                  "phase (rad)", "bar rank (longest first)"):  # fmt: skip
        assert label in words
    fig = plot_distance(np.linspace(0, 1, 5), np.linspace(0, 1, 5), 0.3)
    assert "spatial separation (m)" in texts(fig)
    assert "decorrelation length 0.30 m" in texts(fig)


@pytest.mark.parametrize(("k", "same"), [(0, 10), (3, 13)])
def test_module_colours_cycle(k, same):
    assert module_colour(k) == module_colour(same) != module_colour(k + 1)
    assert module_colour(-1) == "0.4"


def test_stability_figure_labels_windows_fits_threshold_and_units():
    from gridnav_agents.analysis.stability import phase_drift

    # e = (0.002 t, ±0.01 √t): mean 2 mm/step, spread² = 2·(0.01)² t (unbiased, n = 2), so
    # 14.14 mm/√step; |e|² = 4e-6 t² + 1e-4 t first exceeds 0.15² at t = 64 and half of it
    # at t = 28: the fits stop at 27, where the spread (√(2e-4 · 27) = 0.073 m) outgrows the
    # mean (0.054 m)
    t = np.arange(1, 101)[None, :, None]
    drift = phase_drift(
        [0.002, 0.0] * t + np.array([[0.0, 0.01], [0.0, -0.01]])[:, None] * np.sqrt(t), 0.15
    )
    fig = plot_stability(
        np.array([0, 70, 280]), np.array([70, 280, 1120]), np.array([0.8, 0.3, np.nan]), drift,
        radius_m=0.2, caption="made from tests",
    )  # fmt: skip
    words = texts(fig)
    ax_corr, ax_err = fig.axes
    assert [t.get_text() for t in ax_corr.get_xticklabels()] == ["0–70", "70–280", "280–1,120"]
    assert {"0.80", "0.30"} <= set(words) and "nan" not in " ".join(words)
    for label in ("window of the trajectories (steps)", "steps along the trajectories",
                  "phase error (m)", "systematic fit |a + u·t|: 2.00 mm/step",
                  "diffusive fit √(q + D·t): 14.14 mm/√step", "half-period threshold 0.15 m",
                  "search radius 0.20 m", "median first crossing: step 64",
                  "made from tests"):  # fmt: skip
        assert label in words, label
    assert ax_err.get_title() == "phase error: diffusive drift (fits over steps 1–27)"
