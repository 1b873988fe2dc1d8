"""The labels of settings beyond the paper, on configs whose extensions are known."""

import dataclasses

from gridnav_agents.sic.config import PRESETS, SICConfig
from gridnav_agents.sic.extensions import extensions, extensions_note


def test_paper_settings_have_no_labels():
    assert extensions(SICConfig()) == []
    assert extensions(PRESETS["paper"].to_dict()) == []
    assert extensions(None) == [] and extensions({"n_units": 4}) == []
    assert extensions_note([]) == ""


def test_each_extension_is_named_once_in_a_fixed_order():
    config = dataclasses.replace(
        PRESETS["cpu"], n_blocks=2, block_gain_ratio=1.5, step_scale_spread=8.0, lambda_sparse=0.1
    )
    labels = extensions(config)
    assert labels == [
        "2 blocks (modules built in, periods learnt)",
        "fixed block gain ratio 1.5",
        "step scales x8",
        "sparsity penalty 0.1",
    ]
    assert extensions(config.to_dict()) == labels  # a config.json dict says the same
    assert extensions_note(labels[:2]) == (
        " [beyond the paper: 2 blocks (modules built in, periods learnt); "
        "fixed block gain ratio 1.5]"
    )


def test_modules_preset_names_its_three_extensions():
    assert extensions(PRESETS["modules"]) == [
        "rotation transition (exact path integration built in)",
        "step scales x16",
        "non-negativity penalty 1",
    ]
