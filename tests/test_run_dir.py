"""One writer per run directory, starts that undo themselves, resume that leaves files alone."""

import errno
import json
import multiprocessing as mp
import os
import queue
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import gridnav_agents.sic.train as train_mod
from gridnav_agents.cli import main as gridnav
from gridnav_agents.sic import RunLockedError, load_encoder
from gridnav_agents.sic import checkpoint as ckpt_io
from gridnav_agents.sic.checkpoint import load_checkpoint
from gridnav_agents.sic.runlock import LOCK_NAME, RunLock
from gridnav_agents.sic.train import train
from tests.test_sic_train import TINY as TRAIN_TINY

# the training tests' tiny run, 4 steps of one batch each
TINY = TRAIN_TINY.with_overrides(["n_steps=4", "accumulate=1", "pair_subsample=none"])


def snapshot(path: Path) -> dict[str, bytes] | None:
    """Every file below ``path`` with its bytes (``None`` if ``path`` does not exist)."""
    if not path.exists():
        return None
    return {
        str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()
    }


def steps(run: Path) -> list[int]:
    return [json.loads(ln)["step"] for ln in (run / "metrics.jsonl").read_text().splitlines()]


# ---------------------------------------------------------------------- two writers at once
def _writer(run_dir: str, seed: int, barrier, release, results) -> None:
    """Start ``train`` on ``run_dir`` at the barrier; once it holds the lock it waits for
    ``release`` (so the other writer tries while this one is running)."""
    import gridnav_agents.sic.train as tm

    real = tm.build_encoder

    def build_holding_the_lock(*args, **kwargs):
        results.put(("holds", seed, os.getpid()))
        release.wait(60)
        return real(*args, **kwargs)

    tm.build_encoder = build_holding_the_lock
    barrier.wait(60)
    try:
        tm.train(TINY.with_overrides([f"seed={seed}"]), run_dir, progress=False)
        results.put(("done", seed, os.getpid()))
    except RunLockedError as exc:
        results.put(("locked", seed, str(exc)))
    except BaseException as exc:  # reported, so the test fails with the reason
        results.put(("error", seed, repr(exc)))


def test_synchronised_two_process_start_one_writes_the_other_gets_the_lock_error(tmp_path):
    ctx = mp.get_context("spawn")
    run = tmp_path / "run"
    barrier, release, results = ctx.Barrier(2), ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=_writer, args=(str(run), seed, barrier, release, results))
        for seed in (0, 1)
    ]
    for p in procs:
        p.start()
    got = []
    try:
        while not any(kind in ("locked", "error") for kind, *_ in got):
            got.append(results.get(timeout=120))  # a second "holds" instead: both locked
        release.set()
        while len(got) < 3:
            got.append(results.get(timeout=120))
    except queue.Empty:
        pytest.fail(f"no lock error: {got}")
    finally:
        release.set()
        for p in procs:
            p.join(60)
            if p.is_alive():
                p.kill()
    kinds = sorted(kind for kind, *_ in got)
    assert kinds == ["done", "holds", "locked"], got
    (_, winner, pid), (_, loser, message) = (
        next(g for g in got if g[0] == "done"),
        next(g for g in got if g[0] == "locked"),
    )
    assert winner != loser
    assert message == (
        f"{run} is in use by another writer (pid {pid}); wait for it to finish, or use "
        "another directory"
    )
    # the directory is the winner's alone: its seed everywhere, every step once
    assert json.loads((run / "config.json").read_text())["seed"] == winner
    assert load_checkpoint(run / "last.safetensors").meta["config"]["seed"] == winner
    assert steps(run) == [1, 2, 3, 4]


def test_a_held_lock_stops_a_resume_and_a_fresh_start_changing_nothing(tmp_path, capsys):
    run = tmp_path / "run"
    train(TINY, run, progress=False)
    before = snapshot(run)
    with RunLock(run):  # this process's own second writer counts as another writer too
        with pytest.raises(RunLockedError, match=rf"\(pid {os.getpid()}\)"):
            train(TINY.with_overrides(["n_steps=6"]), run, resume=True, progress=False)
        assert load_encoder(run).n_units == 8  # readers never take the lock
        argv = ["pretrain", "--out", str(run), "--resume", "--set", "n_steps=6", "--no-progress"]
        assert gridnav(argv) == 2
        err = capsys.readouterr().err
        assert err == (
            f"gridnav pretrain: error: {run} is in use by another writer (pid {os.getpid()}); "
            "wait for it to finish, or use another directory\n"
        )
    assert snapshot(run) == before
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    with RunLock(fresh), pytest.raises(RunLockedError):
        train(TINY, fresh, progress=False)
    assert snapshot(fresh) == {LOCK_NAME: b""}  # the holder's lock file, now released
    train(TINY, fresh, progress=False)  # free again


def test_the_lock_goes_with_a_killed_holder(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    code = (
        "import sys, time\n"
        "from gridnav_agents.sic.runlock import RunLock\n"
        "RunLock(sys.argv[1]).acquire()\n"
        "print('holding', flush=True)\n"
        "time.sleep(120)\n"
    )
    root = str(Path(__file__).resolve().parents[1])  # this checkout's gridnav_agents
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(run)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(RunLockedError, match=rf"\(pid {holder.pid}\)"):
            train(TINY, run, progress=False)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(30)
    assert train(TINY, run, progress=False)["step"] == 4


# ---------------------------------------------------------------------- failed starts
def _fail(exc: BaseException):
    def raiser(*args, **kwargs):
        raise exc

    return raiser


def _disk_full_after_writing(tensors, filename, metadata=None):
    """safetensors' ``save_file`` on a disk that fills up: part of the file, then ENOSPC."""
    Path(filename).write_bytes(b"partial")
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), filename)


@pytest.mark.parametrize(
    "where, exc",
    [
        ("build_encoder", KeyboardInterrupt()),
        ("first checkpoint", OSError(errno.ENOSPC, "No space left on device")),
        ("config.json", OSError(errno.EROFS, "Read-only file system")),
    ],
)
@pytest.mark.parametrize("existing", [False, True])
def test_a_failed_start_leaves_the_directory_as_it_found_it(
    tmp_path, monkeypatch, where, exc, existing
):
    run = tmp_path / "a" / "b" / "run"
    if existing:
        run.mkdir(parents=True)
        (run / "notes.txt").write_text("mine")
    before = snapshot(tmp_path)
    if where == "build_encoder":
        monkeypatch.setattr(train_mod, "build_encoder", _fail(exc))
    elif where == "first checkpoint":
        monkeypatch.setattr(ckpt_io, "save_file", _disk_full_after_writing)
    else:
        monkeypatch.setattr(ckpt_io, "_atomic_write_json", _fail(exc))
    with pytest.raises(type(exc)):
        train(TINY, run, progress=False)
    assert snapshot(tmp_path) == before
    assert (tmp_path / "a").exists() == existing
    monkeypatch.undo()
    assert train(TINY, run, progress=False)["step"] == 4  # a plain retry works


def test_a_failed_start_through_the_cli_is_one_line_and_the_retry_works(
    tmp_path, monkeypatch, capsys
):
    run = tmp_path / "run"
    argv = ["pretrain", "--preset", "smoke", "--set", "n_units=8", "mlp_hidden=8", "n_steps=2"]
    argv += ["--out", str(run), "--no-progress"]
    monkeypatch.setattr(ckpt_io, "save_file", _disk_full_after_writing)
    assert gridnav(argv) == 2
    err = capsys.readouterr().err
    tmp = run / ".last.safetensors.tmp"
    assert err == f"gridnav pretrain: error: No space left on device: {tmp} (the disk is full)\n"
    assert not run.exists()
    monkeypatch.undo()
    assert gridnav(argv) == 0


def test_a_setting_larger_than_the_device_is_refused_before_the_directory_exists(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(train_mod, "device_memory_bytes", lambda device: 2**20)
    with pytest.raises(ValueError) as info:
        train(TINY.with_overrides(["batch_size=64", "seq_len=64"]), tmp_path / "run")
    message = str(info.value)
    # pairwise losses: 4 · (1024 · 4097 + 3 · 4097 · 10) bytes = 16.5 MiB > 1 MiB
    assert message.startswith("loss_block=1024, batch_size=64, seq_len=64")
    assert "more than the 1 MiB of memory on cpu" in message and "16.5 MiB" in message
    assert not (tmp_path / "run").exists()


# ---------------------------------------------------------------------- resume
def test_resume_rewrites_config_json_only_when_a_field_changed(tmp_path):
    run = tmp_path / "run"
    train(TINY, run, progress=False, stop_after=2)
    inode = (run / "config.json").stat().st_ino
    train(TINY, run, resume=True, progress=False, stop_after=1)
    assert (run / "config.json").stat().st_ino == inode  # not replaced
    train(TINY.with_overrides(["n_steps=5"]), run, resume=True, progress=False)
    assert (run / "config.json").stat().st_ino != inode
    assert json.loads((run / "config.json").read_text())["n_steps"] == 5
    assert steps(run) == [1, 2, 3, 4, 5]


def test_resuming_a_finished_run_writes_nothing_even_without_write_access(tmp_path, monkeypatch):
    run = tmp_path / "run"
    train(TINY, run, progress=False)
    before = snapshot(run)
    read_only = OSError(errno.EROFS, "Read-only file system")
    for target, name in [
        (ckpt_io, "save_checkpoint"),
        (ckpt_io, "_atomic_write_json"),
        (RunLock, "acquire"),
        (Path, "write_text"),
    ]:
        monkeypatch.setattr(target, name, _fail(read_only))
    summary = train(TINY, run, resume=True, progress=False)
    assert summary["already_finished"] and summary["step"] == 4
    assert snapshot(run) == before


def test_a_start_cut_off_before_config_json_resumes_from_its_checkpoint(tmp_path):
    reference, run = tmp_path / "reference", tmp_path / "run"
    train(TINY, reference, progress=False)
    train(TINY, run, progress=False, stop_after=2)
    (run / "config.json").unlink()  # as a kill between the checkpoint and config.json leaves it
    with pytest.raises(FileExistsError, match="already holds a run"):
        train(TINY, run, progress=False)
    assert gridnav(["pretrain", "--out", str(run), "--resume", "--no-progress"]) == 0
    assert json.loads((run / "config.json").read_text()) == TINY.to_dict()
    ref, got = (load_checkpoint(r / "last.safetensors") for r in (reference, run))
    assert got.meta["step"] == ref.meta["step"] == 4
    assert got.tensors.keys() == ref.tensors.keys()
    assert all(torch.equal(got.tensors[k], ref.tensors[k]) for k in ref.tensors)  # bit-exact
