"""The ``gridnav`` command: parsers without heavy imports, threads, version, one-line errors."""

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gridnav_agents.cli import main

PNG = b"\x89PNG\r\n\x1a\n"


def run_python(code: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**clean, **env}
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    return err


def test_trajectories_writes_png(tmp_path: Path):
    out = tmp_path / "t.png"
    assert main(["trajectories", "--agents", "2", "--seconds", "10", "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == PNG


def test_trajectories_bad_box_is_a_clear_error(tmp_path: Path, capsys):
    assert main(["trajectories", "--box", "-1", "--out", str(tmp_path / "x.png")]) == 2
    assert "size" in one_line_error(capsys)
    assert not (tmp_path / "x.png").exists()


def test_unknown_command_exits():
    with pytest.raises(SystemExit):
        main(["fly"])


def test_parsers_and_help_import_no_heavy_library():
    code = (
        "import sys\n"
        "from gridnav_agents.cli import build_parser\n"
        "p = build_parser()\n"
        "for argv in (['pretrain', '--out', 'x'], ['analyze', 'x'], ['homing'], ['viz'],\n"
        "             ['sweep', '--grid', 'lr=1e-3,2e-3', '--out', 'x']):\n"
        "    p.parse_args(argv)\n"
        "heavy = ('torch', 'stable_baselines3', 'pygame', 'sklearn', 'ray', 'scipy')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    assert run_python(code) == "[]"
    help_text = subprocess.run(
        [sys.executable, "-m", "gridnav_agents.cli", "--help"], capture_output=True, text=True
    )
    assert help_text.returncode == 0 and "pretrain" in help_text.stdout


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith("gridnav ")


def test_threads_take_effect_before_and_after_torch_loads():
    code = "from gridnav_agents import set_threads\nset_threads({n})\nimport torch\n"
    code += "import os\nprint(torch.get_num_threads(), os.environ['OMP_WAIT_POLICY'])"
    assert run_python(code.format(n=1)) == "1 PASSIVE"
    assert run_python(code.format(n=2)) == "2 PASSIVE"
    import torch

    before = torch.get_num_threads()
    try:
        assert main(["trajectories", "--threads", "1", "--agents", "1", "--seconds", "1",
                     "--out", os.devnull]) in (0, 2)  # fmt: skip
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    with pytest.raises(ValueError, match="threads"):
        from gridnav_agents import set_threads

        set_threads(0)


@pytest.mark.parametrize("value", ["0", "-2", "two"])
def test_bad_threads_is_one_line(value, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["analyze", "pretrained", "--threads", value])
    assert exit_.value.code == 2
    assert "--threads" in one_line_error(capsys)


def test_missing_empty_and_misplaced_checkpoints_are_one_line(tmp_path: Path, capsys):
    missing = tmp_path / "nowhere"
    assert main(["analyze", str(missing), "--out", str(tmp_path / "a")]) == 2
    assert str(missing) in one_line_error(capsys)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["analyze", str(empty), "--out", str(tmp_path / "a")]) == 2
    assert "no checkpoint last.safetensors" in one_line_error(capsys)
    (empty / "last.safetensors").mkdir()  # a directory where the checkpoint file should be
    for target in (empty, empty / "last.safetensors"):
        assert main(["analyze", str(target), "--out", str(tmp_path / "a")]) == 2
        assert "is a directory, not a checkpoint file" in one_line_error(capsys)
    assert not (tmp_path / "a").exists()


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_disk_full_is_one_line(tmp_path: Path, capsys):
    from gridnav_agents.sic import SICEncoder
    from gridnav_agents.sic.checkpoint import save_checkpoint

    ckpt = save_checkpoint(tmp_path / "tiny.safetensors", SICEncoder(n_units=8, mlp_hidden=8))
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.json").symlink_to("/dev/full")  # every write to it fails with ENOSPC
    argv = ["analyze", str(ckpt), "--boxes", "1", "--steps", "20", "--traj", "8"]
    assert main([*argv, "--no-topology", "--no-stability", "--out", str(out)]) == 2
    assert "the disk is full" in one_line_error(capsys)


def test_read_only_output_is_one_line(tmp_path: Path, capsys, monkeypatch):
    import matplotlib.figure

    def read_only(self, fname, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(fname))

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", read_only)
    argv = ["trajectories", "--agents", "1", "--seconds", "2", "--out", str(tmp_path / "t.png")]
    assert main(argv) == 2
    err = one_line_error(capsys)
    assert "read-only file system" in err and "t.png" in err


def test_output_path_that_is_a_file_is_one_line(tmp_path: Path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["trajectories", "--out", str(blocker / "t.png")]) == 2
    assert str(blocker) in one_line_error(capsys)
