from pathlib import Path

import pytest

from gridnav_agents.cli import main


def test_trajectories_writes_png(tmp_path: Path):
    out = tmp_path / "t.png"
    assert main(["trajectories", "--agents", "2", "--seconds", "10", "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_trajectories_bad_box_is_a_clear_error(tmp_path: Path, capsys):
    assert main(["trajectories", "--box", "-1", "--out", str(tmp_path / "x.png")]) == 2
    assert "size" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_unknown_command_exits():
    with pytest.raises(SystemExit):
        main(["fly"])
