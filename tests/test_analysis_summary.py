"""Plain-word summaries of a report: module roles and the console line of each box."""

import pytest

from gridnav_agents.analysis.summary import (
    box_summary,
    decoding_text,
    module_role,
    stability_text,
)


def module(id_, spacing, harmonic=None, locked=None, lock_r2=None, coherence=0.9, n=10):
    return {"id": id_, "n_units": n, "spacing_m": spacing, "harmonic_of": harmonic,
            "locked_to": locked, "lock_r2": lock_r2, "coherence_r2": coherence}  # fmt: skip


@pytest.mark.parametrize(
    ("m", "role"),
    [
        (module(2, 1.29, lock_r2=None), None),
        (module(0, 0.5, coherence=None), None),  # coherence not measured: not held against it
        (module(1, 0.75, 2, 2, 0.92, 0.33), "harmonic of module 2 and locked to it (R² 0.92)"),
        (module(1, 0.75, 2, None, 0.2), "harmonic of module 2"),
        (module(3, 0.6, None, 2, 0.81), "locked to module 2 (R² 0.81)"),
        (module(0, 0.46, coherence=-0.01), "incoherent (split-half R² -0.01)"),
        (module(4, 0.3, 0, 2, 0.9, 0.1),
         "harmonic of module 0 and locked to module 2 (R² 0.90) and incoherent "
         "(split-half R² 0.10)"),
    ],
)  # fmt: skip
def test_module_role(m, role):
    assert module_role(m) == role


def box(modules, frac=0.9, frac_dm=0.88, error=0.746, chance=0.709):
    return {"frac_grid": frac, "frac_grid_dm": frac_dm, "n_active": 108, "modules": modules,
            "decoding_error_m": error, "decoding_chance_m": chance}  # fmt: skip


def test_box_summary_in_words_with_the_chance_level():
    line = box_summary(
        "2",
        box([module(0, 0.4643, coherence=-0.0108), module(1, 0.7505, 2, 2, 0.9227, 0.332),
             module(2, 1.2935)]),
    )  # fmt: skip
    assert line == (
        "2 m box: 90 % of 108 active units are grid units (gridness > 0.3; 88 % by DeepMind's "
        "scores.py); 1 independent module: module 2 (1.29 m); 2 dependent groups: module 0 "
        "(0.46 m) incoherent (split-half R² -0.01), module 1 (0.75 m) harmonic of module 2 and "
        "locked to it (R² 0.92); decoding error 0.75 m (chance 0.71 m)"
    )


def test_box_summary_plurals_and_empty_boxes():
    two = box_summary("4", box([module(0, 0.5), module(3, 0.8)], frac_dm=None))
    assert "(gridness > 0.3); 2 independent modules: module 0 (0.50 m), module 3 (0.80 m);" in two
    assert "dependent group" not in two
    none = box_summary("1", box([], frac=0.0, error=None))
    assert "no grid modules; decoding error n/a (chance 0.71 m)" in none
    only_dependent = box_summary("3", box([module(0, 0.4, coherence=0.0)]))
    only = "0 independent modules; 1 dependent group: module 0 (0.40 m) incoherent"
    assert only in only_dependent


def test_decoding_text_always_has_the_chance_level():
    assert decoding_text(0.1234, 0.7) == "decoding error 0.12 m (chance 0.70 m)"
    assert decoding_text(0.5, None) == "decoding error 0.50 m (chance n/a)"


def stability(kind="systematic", within=380.0, late=(0.04, 0.1)):
    return {
        "box_size_m": 2.0,
        "n_steps": 1120,
        "windows": {"start": [0, 70, 280], "stop": [70, 280, 1120],
                    "map_correlation": [0.853, 0.32, None]},
        "late_gridness": {"start": 1000, "stop": 10000, "frac_grid": list(late)},
        "phase_drift": {"kind": kind, "systematic_m_per_step": 0.0011,
                        "diffusive_m_per_sqrt_step": 0.0123, "steps_within_half_period": within,
                        "resolution_m": 0.05, "fit_steps": 262},
    }  # fmt: skip


def test_stability_text_in_words():
    assert stability_text(stability()) == (
        "stability (2 m box): maps correlate 0.85 / 0.32 / n/a with the short-trajectory maps "
        "over steps 0-70 / 70-280 / 280-1,120; each long trajectory's maps of steps "
        "1,000-10,000: 4 % / 10 % grid units; phase drift 1.1 mm/step, systematic (spread "
        "12.3 mm/√step); stays within half a period for 380 steps"
    )
    diffusive = stability_text(stability("diffusive", within=None, late=()))
    assert "grid units" not in diffusive
    assert diffusive.endswith(
        "phase drift 12.3 mm/√step, diffusive (mean 1.1 mm/step); stays within half a period "
        "for all 1,120 steps"
    )
    assert stability_text(stability("none")).endswith("no phase drift (under 0.05 m in 262 steps)")
    assert stability_text(stability("unknown")).endswith("phase drift not measured")
