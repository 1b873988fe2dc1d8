"""Module numbers that stay with a module across boxes, on hand-made module lists."""

import numpy as np
import pytest

from gridnav_agents.analysis.matching import match_modules, stable_module_ids


def test_matches_by_spacing_and_orientation_and_numbers_the_rest():
    ref_s, ref_o = [0.5, 0.8, 1.3], [10.0, 40.0, 15.0]
    # 1.31 m at 16°: reference 2; 0.5 m at 55° (15° off reference 0): new; 2.0 m: new
    ids = match_modules(ref_s, ref_o, [0.5, 1.31, 2.0], [55.0, 16.0, 0.0])
    assert ids.tolist() == [3, 2, 4]
    # orientation is circular with period 60°: 58° is 2° from 0°
    assert match_modules([0.5], [0.0], [0.52], [58.0]).tolist() == [0]


def test_pairs_are_one_to_one_and_the_closest_wins():
    # two modules near reference 0: the closer one takes it, the other is new
    ids = match_modules([0.5, 0.8], [10.0, 40.0], [0.54, 0.5], [12.0, 10.0])
    assert ids.tolist() == [2, 0]
    ids = match_modules([0.5, 0.8], [10.0, 40.0], [0.79, 0.51], [41.0, 9.0])
    assert ids.tolist() == [1, 0]


def test_tolerances():
    assert match_modules([1.0], [0.0], [1.14], [0.0]).tolist() == [0]
    assert match_modules([1.0], [0.0], [1.17], [0.0]).tolist() == [1]
    assert match_modules([1.0], [0.0], [1.17], [0.0], spacing_tol=0.2).tolist() == [0]
    assert match_modules([1.0], [0.0], [1.0], [12.0]).tolist() == [1]
    assert match_modules([1.0], [0.0], [1.0], [12.0], orientation_tol_deg=15).tolist() == [0]


def test_two_boxes_keep_each_module_number():
    # 2 m box: modules 0.46, 0.75, 1.29 m (numbered 0, 1, 2 by spacing). In the 4 m box the
    # 0.46 m module is missing and a new 2.1 m one appears: numbering by spacing would call
    # the 1.30 m module "1" there; matching keeps it "2" and numbers the new one 3.
    box2 = ([0.46, 0.75, 1.29], [21.0, 46.0, 14.7])
    box4 = ([0.76, 1.30, 2.1], [45.0, 15.0, 30.0])
    box3 = ([2.08, 0.47], [29.0, 20.0])  # the new module of the 4 m box is 3 here too
    ids = stable_module_ids([box2, box4, box3])
    assert [i.tolist() for i in ids] == [[0, 1, 2], [1, 2, 3], [3, 0]]


def test_no_modules():
    assert match_modules([], [], [], []).tolist() == []
    assert match_modules([], [], [0.5], [3.0]).tolist() == [0]
    assert match_modules([0.5], [3.0], [], []).tolist() == []
    assert [i.tolist() for i in stable_module_ids([([], []), ([0.5], [1.0])])] == [[], [0]]


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"spacing_m": [0.5, 0.6]}, "spacing_m"),
        ({"spacing_m": [-0.5]}, "spacing_m"),
        ({"ref_spacing_m": [np.nan]}, "ref_spacing_m"),
        ({"spacing_tol": 0.0}, "spacing_tol"),
        ({"orientation_tol_deg": 40.0}, "orientation_tol_deg"),
    ],
)
def test_validation_names_the_parameter(kwargs, name):
    args = {"ref_spacing_m": [0.5], "ref_orientation_deg": [0.0], "spacing_m": [0.5]}
    args["orientation_deg"] = [0.0]
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        match_modules(**args)
