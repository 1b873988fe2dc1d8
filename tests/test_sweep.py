"""``gridnav sweep``: grid parsing and validation, the results table, and tiny sweeps on one
local Ray session shared by the module (resumption, failures, rows against each report)."""

import csv
import hashlib
import json
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from gridnav_agents.cli import main as gridnav
from gridnav_agents.sic.checkpoint import load_checkpoint
from gridnav_agents.sic.config import PRESETS, SICConfig
from gridnav_agents.sic.train import train
from gridnav_agents.sweep.grid import RESULT_FILE, build_trials, parse_grid
from gridnav_agents.sweep.plots import plot_summary
from gridnav_agents.sweep.results import (
    BOX_FIELDS,
    best_row,
    box_column,
    format_summary,
    summarise,
    trial_row,
    write_results,
)
from gridnav_agents.sweep.trial import run_trial

TINY = ["n_units=16", "mlp_hidden=16", "batch_size=8", "seq_len=5", "n_steps=6"]
TINY += ["checkpoint_every=2", "log_every=1", "device=cpu"]


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    return err


# --- the trials ---------------------------------------------------------------------------


def test_parse_grid_parses_each_value_by_its_field_type():
    grid = parse_grid(["lambda_cap=0.25,0.5,1", "n_steps=1e3,2000", "curriculum_step=none,5"],
                      PRESETS["smoke"])  # fmt: skip
    assert grid == {
        "lambda_cap": [0.25, 0.5, 1.0],
        "n_steps": [1000, 2000],
        "curriculum_step": [None, 5],
    }
    assert isinstance(grid["n_steps"][0], int)


def test_build_trials_is_every_combination_times_every_seed(tmp_path):
    base = PRESETS["smoke"]
    grid = parse_grid(["lambda_cap=0.25,0.5", "sigma_g=0.3,0.4,0.5"], base)
    trials = build_trials(base, grid, [0, 7], tmp_path, overrides=["lr=0.01"], boxes=[2, 3])
    assert len(trials) == 2 * 3 * 2
    first, last = trials[0], trials[-1]
    assert first.swept == {"lambda_cap": 0.25, "sigma_g": 0.3, "seed": 0}
    assert trials[1].swept == {"lambda_cap": 0.25, "sigma_g": 0.3, "seed": 7}
    assert last.swept == {"lambda_cap": 0.5, "sigma_g": 0.5, "seed": 7}
    assert (last.config.lambda_cap, last.config.sigma_g, last.config.seed) == (0.5, 0.5, 7)
    assert all(t.config.lr == 0.01 and t.boxes == (2.0, 3.0) for t in trials)
    assert first.run_dir == tmp_path / "trials" / "lambda_cap=0.25,sigma_g=0.3,seed=0"
    assert len({t.run_dir for t in trials}) == len(trials)
    assert not (tmp_path / "trials").exists()  # building trials writes nothing


@pytest.mark.parametrize(
    ("grid", "seeds", "overrides", "match"),
    [
        (["lambda_cap"], [0], [], "not of the form KEY=V1,V2"),
        (["lambda_cap=0.5,"], [0], [], "not of the form KEY=V1,V2"),
        (["=0.5"], [0], [], "not of the form KEY=V1,V2"),
        (["lambda_cop=0.5"], [0], [], "unknown SICConfig field 'lambda_cop'"),
        (["lambda_cap=-1"], [0], [], "lambda_cap must be a finite non-negative"),
        (["n_steps=1.5"], [0], [], "cannot parse '1.5' as int for field 'n_steps'"),
        (["lambda_cap=1", "lambda_cap=2"], [0], [], "'lambda_cap' is given twice"),
        (["lambda_cap=0.5,0.50"], [0], [], "lists 0.5 more than once"),
        (["seed=1,2"], [0], [], "--seeds"),
        ([], [0], ["seed=3"], "--seeds"),
        (["lr=0.1,0.2"], [0], ["lr=0.3"], "lr is both swept"),
        ([], [0], ["lr=-1"], "lr must be a finite positive"),
        ([], [0, 0], [], "seeds must be distinct"),
        ([], [-1], [], "seed must be in \\[0, 2\\*\\*64 - 1\\]"),
        (["velocity=smooth"], [0], ["velocity_drift=0.1"], "velocity_drift applies"),
    ],
)
def test_bad_grids_are_rejected_naming_the_problem(tmp_path, grid, seeds, overrides, match):
    with pytest.raises(ValueError, match=match):
        base = PRESETS["smoke"]
        build_trials(base, parse_grid(grid, base), seeds, tmp_path, overrides=overrides)


def test_a_stored_run_with_another_config_is_rejected(tmp_path):
    base = PRESETS["smoke"].with_overrides(TINY)
    (trial,) = build_trials(base, {}, [0], tmp_path)
    train(trial.config, trial.run_dir, progress=False)
    with pytest.raises(ValueError, match="differs in lr"):
        build_trials(base, {}, [0], tmp_path, overrides=["lr=0.5"])
    assert build_trials(base, {}, [0], tmp_path, overrides=["n_steps=9"])  # resumable field


# --- the results table --------------------------------------------------------------------


def fake_report(frac_grid: float, error: float | None) -> dict:
    modules = [{"spacing_m": 0.41234}, {"spacing_m": 0.7}, {"spacing_m": None}]
    box = {"frac_grid": frac_grid, "n_independent_modules": 2, "modules": modules}
    box.update(decoding_error_m=error, decoding_chance_m=0.7)
    return {"boxes": {"2": box}, "analysis_time_s": 1.5}


def fake_row(name: str, cap: float, seed: int, frac_grid: float, error: float | None) -> dict:
    spec = {"name": name, "swept": {"lambda_cap": cap, "seed": seed}}
    return trial_row(spec, fake_report(frac_grid, error), 10, 2.25, "ab")


def test_trial_row_copies_the_report_and_reads_missing_fields_as_none():
    row = fake_row("t", 0.5, 3, 0.25, 0.1)
    assert row == {
        "trial": "t",
        "lambda_cap": 0.5,
        "seed": 3,
        "steps": 10,
        "train_s": 2.25,
        "wall_s": 3.75,
        "frac_grid_box2": 0.25,
        "n_independent_modules_box2": 2,
        "decoding_error_m_box2": 0.1,
        "decoding_chance_m_box2": 0.7,
        "module_spacings_m_box2": [0.4123, 0.7],
        "encoder_sha256": "ab",
    }
    report = fake_report(0.25, 0.1)
    del report["boxes"]["2"]["frac_grid"]
    assert trial_row({"name": "t", "swept": {}}, report, 1, 0, "")["frac_grid_box2"] is None


def test_write_results_csv_matches_json(tmp_path):
    rows = [fake_row("a,b", 0.5, 0, 0.25, None), fake_row("c", 1.0, 0, 0.5, 0.1)]
    write_results(tmp_path, rows, {"command": "x"})
    doc = json.loads((tmp_path / "results.json").read_text())
    assert doc["command"] == "x" and doc["rows"] == rows
    with open(tmp_path / "results.csv") as fh:
        table = list(csv.DictReader(fh))
    assert list(table[0]) == doc["columns"] == list(rows[0])
    assert table[0]["trial"] == "a,b" and table[0]["decoding_error_m_box2"] == ""
    assert table[1]["module_spacings_m_box2"] == "0.4123;0.7"
    assert float(table[1]["frac_grid_box2"]) == 0.5
    assert not list(tmp_path.glob(".*.tmp"))


def test_summary_is_mean_and_sample_std_over_seeds():
    rows = [
        fake_row("a0", 0.5, 0, 0.2, 0.1),
        fake_row("b0", 1.0, 0, 0.9, None),
        fake_row("a1", 0.5, 1, 0.4, 0.3),
        fake_row("a2", 0.5, 2, 0.6, None),
    ]
    cols = [box_column("frac_grid", 2), box_column("decoding_error_m", 2)]
    summary = summarise(rows, ["lambda_cap"], cols)
    assert [(s["lambda_cap"], s["n"]) for s in summary] == [(0.5, 3), (1.0, 1)]
    mean, std, n = summary[0]["frac_grid_box2"]
    assert (mean, n) == pytest.approx((0.4, 3)) and std == pytest.approx(0.2)
    assert summary[0]["decoding_error_m_box2"] == pytest.approx((0.2, math.sqrt(0.02), 2))
    assert summary[1]["frac_grid_box2"] == (0.9, None, 1)
    assert summary[1]["decoding_error_m_box2"] == (None, None, 0)
    lines = format_summary(summary, ["lambda_cap"], cols).splitlines()
    assert lines[0].split() == ["lambda_cap", "n", *cols]
    assert lines[1].split() == ["0.5", "3", "0.4", "±", "0.2", "0.2", "±", "0.14"]
    assert lines[2].split() == ["1.0", "1", "0.9", "-"]
    assert best_row(rows, "frac_grid_box2")["trial"] == "b0"
    assert best_row(rows, "decoding_error_m_box2")["trial"] == "a1"
    assert best_row(rows, "no_such_column") is None


def test_summary_figure_marks_each_group_mean():
    rows = [fake_row(f"t{i}", cap, i, f, 0.1 * i) for i, (cap, f) in
            enumerate([(0.5, 0.2), (1.0, 0.9), (0.5, 0.4)])]  # fmt: skip
    fig = plot_summary(rows, ["lambda_cap", "seed"], [2.0])
    axes = np.array(fig.axes).reshape(3, 2)
    means = axes[0, 0].containers[0].lines[0].get_ydata()
    assert np.allclose(means, [0.3, 0.9])  # frac_grid at lambda_cap 0.5, 1.0
    assert [t.get_text() for t in axes[2, 0].get_xticklabels()] == ["0.5", "1.0"]
    assert np.allclose(axes[2, 1].containers[0].lines[0].get_ydata(), [0, 0.1, 0.2])


def test_run_trial_passes_the_time_budget_and_threads_and_rows_the_checkpoint(tmp_path):
    base = PRESETS["smoke"].with_overrides(TINY)
    (trial,) = build_trials(base, {}, [0], tmp_path, boxes=[1], max_seconds=1e-9, threads=1)
    train(trial.config, trial.run_dir, progress=False, stop_after=2)  # a run cut at step 2
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        row = run_trial(trial.spec())  # the budget is spent: no step, the analysis of step 2
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)
    assert row["steps"] == load_checkpoint(trial.run_dir / "last.safetensors").meta["step"] == 2
    assert trial.stored_row() == row
    (other,) = build_trials(base, {}, [0], tmp_path, boxes=[2], max_seconds=1e-9)
    assert other.run_dir == trial.run_dir and other.stored_row() is None  # not this analysis
    assert (trial.run_dir / "analysis" / "report.json").is_file()


# --- sweeps on Ray ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ray_session():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR")
    yield ray
    ray.shutdown()


def sweep_argv(out: Path, *extra: str) -> list[str]:
    grid = ["--grid", "lambda_cap=0.25,0.5"]
    return ["sweep", "--preset", "smoke", *grid, "--set", *TINY, "--boxes", "1", "--out",
            str(out), *extra]  # fmt: skip


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p): (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.rglob("*")
            if p.is_file()}  # fmt: skip


def test_sweep_rows_match_each_trials_report_and_a_rerun_redoes_nothing(
    ray_session, tmp_path, capsys
):
    out = tmp_path / "sweep"
    assert gridnav(sweep_argv(out)) == 0
    printed = capsys.readouterr().out
    assert "2/2 finished, 0 running, 0 pending; best lambda_cap=" in printed
    doc = json.loads((out / "results.json").read_text())
    assert doc["failed"] == {} and doc["swept"] == ["lambda_cap"]
    assert doc["base_config"] == PRESETS["smoke"].with_overrides(TINY).to_dict()
    assert doc["command"].startswith("gridnav sweep --preset smoke --grid lambda_cap=0.25,0.5 ")
    assert [r["trial"] for r in doc["rows"]] == ["lambda_cap=0.25,seed=0", "lambda_cap=0.5,seed=0"]
    for row in doc["rows"]:
        run = out / "trials" / row["trial"]
        config = json.loads((run / "config.json").read_text())
        report = json.loads((run / "analysis" / "report.json").read_text())["boxes"]["1"]
        assert (row["lambda_cap"], row["seed"]) == (config["lambda_cap"], config["seed"])
        assert row["steps"] == config["n_steps"] == 6
        last_logged = (run / "metrics.jsonl").read_text().splitlines()[-1]
        assert row["steps"] == json.loads(last_logged)["step"]
        for field in BOX_FIELDS:
            assert row[box_column(field, 1)] == report[field]
        spacings = [m["spacing_m"] for m in report["modules"]]
        assert row["module_spacings_m_box1"] == pytest.approx(spacings, abs=1e-4)
        sha = hashlib.sha256((run / "last.safetensors").read_bytes()).hexdigest()
        assert row["encoder_sha256"] == sha
    assert (out / "results.csv").read_text().count("\n") == 3
    assert (out / "summary.png").read_bytes()[:4] == b"\x89PNG"
    assert "0.25 " in printed and "0.5 " in printed  # the summary table's groups

    before = snapshot(out / "trials")
    assert gridnav(sweep_argv(out)) == 0
    assert "2 trials: 2 finished earlier, 0 to run" in capsys.readouterr().out
    assert snapshot(out / "trials") == before
    assert json.loads((out / "results.json").read_text())["rows"] == doc["rows"]


def test_a_killed_sweep_keeps_finished_trials_and_resumes_the_others(ray_session, tmp_path,
                                                                      capsys):  # fmt: skip
    out = tmp_path / "sweep"
    assert gridnav(sweep_argv(out)) == 0
    done, cut = out / "trials" / "lambda_cap=0.25,seed=0", out / "trials" / "lambda_cap=0.5,seed=0"
    whole = load_checkpoint(cut / "last.safetensors")
    config = SICConfig.from_dict(json.loads((cut / "config.json").read_text()))
    shutil.rmtree(cut)  # as if the driver had died while this trial was at step 3
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the trial's threads: the same sums in the same order
    try:
        train(config, cut, progress=False, stop_after=3)
    finally:
        torch.set_num_threads(threads)
    lines_at_3 = (cut / "metrics.jsonl").read_text()
    kept = snapshot(done)
    capsys.readouterr()
    assert gridnav(sweep_argv(out)) == 0
    assert "1 finished earlier, 1 to run (1 resume from a checkpoint)" in capsys.readouterr().out
    assert snapshot(done) == kept
    resumed = load_checkpoint(cut / "last.safetensors")
    assert resumed.meta["step"] == 6
    assert (cut / "metrics.jsonl").read_text().startswith(lines_at_3)
    for name, tensor in whole.tensors.items():  # resuming reproduces the uninterrupted run
        assert torch.equal(tensor, resumed.tensors[name]), name
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert [r["steps"] for r in rows] == [6, 6]


def test_a_failing_trial_is_reported_and_the_others_still_finish(ray_session, tmp_path, capsys):
    out = tmp_path / "sweep"
    broken = out / "trials" / "lambda_cap=0.5,seed=0"
    base = PRESETS["smoke"].with_overrides(TINY)
    train(base.with_overrides(["lambda_cap=0.5", "n_steps=2"]), broken, progress=False)
    (broken / "last.safetensors").write_bytes(b"not a checkpoint")
    assert gridnav(sweep_argv(out)) == 1
    printed = capsys.readouterr().out
    assert "failed: lambda_cap=0.5,seed=0: CheckpointError" in printed
    doc = json.loads((out / "results.json").read_text())
    assert [r["trial"] for r in doc["rows"]] == ["lambda_cap=0.25,seed=0"]
    assert list(doc["failed"]) == ["lambda_cap=0.5,seed=0"]
    assert not (broken / RESULT_FILE).exists()


# --- errors before any trial starts -------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--grid", "lambda_cap"], "--grid item 'lambda_cap' is not of the form"),
        (["--grid", "lambda_cop=1,2"], "unknown SICConfig field 'lambda_cop'"),
        (["--set", "nope=1"], "unknown SICConfig field 'nope'"),
        (["--minutes", "0"], "--minutes must be a positive number"),
        (["--cpus-per-trial", "0"], "--cpus-per-trial must be a positive integer"),
        (["--boxes", "-2"], "boxes must be positive"),
    ],
)
def test_bad_input_is_one_line_before_ray_or_any_trial(tmp_path, capsys, monkeypatch, args,
                                                       match):  # fmt: skip
    monkeypatch.setitem(sys.modules, "ray", None)  # any use of Ray would fail differently
    out = tmp_path / "sweep"
    assert gridnav(["sweep", "--preset", "smoke", *args, "--out", str(out)]) == 2
    err = one_line_error(capsys)
    assert err.startswith("gridnav sweep: error: ") and match in err
    assert not out.exists()


def test_without_ray_the_error_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    assert gridnav(["sweep", "--preset", "smoke", "--out", str(tmp_path / "s")]) == 2
    assert 'pip install -e ".[sweep]"' in one_line_error(capsys)
