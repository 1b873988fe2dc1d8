"""The composite firing-field view (issue 7), headless (SDL_VIDEODRIVER=dummy, see conftest)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import Polygon

from gridnav_agents.viz import (
    FiringFieldRender,
    FiringFieldView,
    FunctionSource,
    OnlineRatemaps,
    Viewer,
    add_viz_arguments,
    colormap_lut,
    make_env,
    record,
    viz_main,
)
from gridnav_env import Arena, GridNavEnv
from gridnav_env.render import AGENT

L_SHAPE = Arena(
    Polygon(
        [(-1, -1), (1, -1), (1, 0), (0, 0), (0, 1), (-1, 1)],
        holes=[[(-0.6, -0.6), (-0.3, -0.6), (-0.3, -0.3), (-0.6, -0.3)]],
    )
)


def bumps(centres: np.ndarray, width: float = 0.25):
    """Units whose activity is a Gaussian bump of ``width`` m at each of ``centres``."""
    return lambda p: np.exp(-np.sum((p - centres) ** 2, axis=-1) / (2 * width**2))


def lut_values(pixels: np.ndarray, lut: np.ndarray, tol: float = 12.0) -> np.ndarray:
    """Invert a colormap: the LUT level (0-1) of each pixel, NaN where no LUT colour is close."""
    p, q = pixels.reshape(-1, 3).astype(float), lut.astype(float)
    d2 = (p**2).sum(1)[:, None] - 2 * p @ q.T + (q**2).sum(1)[None, :]  # squared distances
    k = np.argmin(d2, axis=1)
    near = d2[np.arange(len(p)), k] <= tol**2
    return np.where(near, k / (len(lut) - 1), np.nan).reshape(pixels.shape[:-1])


@pytest.mark.parametrize(
    ("arena", "size"),
    [(Arena.box(2.2), (800, 600)), (L_SHAPE, (640, 480)), (Arena.box(5), (900, 500))],
)
def test_frames_are_uint8_of_the_documented_size(arena, size):
    env = GridNavEnv(arena=arena, motion="uniform", render_mode="rgb_array")
    wrapped = FiringFieldRender(env, FunctionSource(bumps(np.zeros((5, 2)))), units=4, size=size)
    wrapped.reset(seed=0)
    for _ in range(5):
        wrapped.step(np.zeros(2, np.float32))
    frame = wrapped.render()
    assert frame.dtype == np.uint8 and frame.shape == (size[1], size[0], 3)
    assert frame.std() > 10  # something was drawn
    wrapped.close()


def test_render_without_render_mode_returns_none():
    env = FiringFieldRender(GridNavEnv(), FunctionSource(bumps(np.zeros((2, 2)))), units=2)
    env.reset(seed=0)
    with pytest.warns(UserWarning, match="render_mode"):
        assert env.render() is None


def test_agent_pixel_follows_true_position():
    env = GridNavEnv(box_size=2.2, motion="uniform", render_mode="rgb_array")
    wrapped = FiringFieldRender(env, FunctionSource(bumps(np.zeros((3, 2)))), units=3)
    _, info = wrapped.reset(seed=3)
    ax, ay, aw, ah = wrapped.view.layout.arena
    seen = []
    for t in range(40):
        _, _, _, _, info = wrapped.step(np.zeros(2, np.float32))
        if t % 8:
            continue
        frame = wrapped.render()[ay : ay + ah, ax : ax + aw]
        rows, cols = np.nonzero(np.all(frame == AGENT, axis=-1))
        assert len(rows) > 20
        centroid = np.array([cols.mean() + ax, rows.mean() + ay]) + 0.5  # pixel centres
        expected = wrapped.view.world_to_pixel(info["position"])
        assert np.linalg.norm(centroid - expected) < 2.0  # pygame rounds the centre to a pixel
        seen.append(expected)
    assert np.ptp(np.array(seen), axis=0).max() > 40  # the agent really moved across the arena


def test_firing_field_is_bright_where_the_unit_fires():
    arena = Arena.box(2.2)
    centres = np.array([[0.55, 0.6], [-0.6, 0.35], [0.2, -0.7]])
    source = FunctionSource(bumps(centres))
    view = FiringFieldView(arena, 3, units=3, size=(800, 600), gridness_every=0)
    rng = np.random.default_rng(0)
    # Cover every bin: a jittered lattice of positions, in random order.
    g = np.linspace(-1.08, 1.08, 60)
    pts = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2) + rng.uniform(-0.015, 0.015, (3600, 2))
    for p in rng.permutation(pts):
        view.update(p, source.step(p, np.zeros(2)))
    frame = view.frame()
    lut = colormap_lut("inferno")
    m_per_px = (view.fields.extent[2] - view.fields.extent[0]) / view.layout.maps[0][2]
    for k, centre in enumerate(centres):
        mx, my, mw, mh = view.layout.maps[k]
        values = lut_values(frame[my : my + mh, mx : mx + mw], lut)
        assert np.mean(np.isfinite(values)) > 0.95
        rows, cols = np.nonzero(values >= 0.8)
        bright = np.array([cols.mean() + mx, rows.mean() + my])
        expected = view.field_to_pixel(k, centre)
        assert np.linalg.norm(bright - expected) * m_per_px < 0.08
        far = view.field_to_pixel(k, -centre)  # the opposite side of the arena is dark
        fx, fy = int(far[0]) - mx, int(far[1]) - my
        assert np.nanmax(values[fy - 2 : fy + 3, fx - 2 : fx + 3]) < 0.2


def test_online_ratemaps_agree_with_the_analysis_module():
    analysis = pytest.importorskip("gridnav_agents.analysis.ratemaps")
    rng = np.random.default_rng(1)
    pos, act = rng.uniform(-1.1, 1.1, (500, 2)), rng.random((500, 6))
    pos[:3] = [1.1, -1.1], [5.0, 0.0], [np.nan, 0.0]  # far wall, outside, non-finite
    one, batch = (
        OnlineRatemaps(6, (-1.1, -1.1, 1.1, 1.1)),
        OnlineRatemaps(6, (-1.1, -1.1, 1.1, 1.1)),
    )
    for p, a in zip(pos, act, strict=True):
        one.add(p, a)
    batch.add(pos, act)
    expected = analysis.ratemaps(act, pos, Arena.box(2.2), bin_size=0.05)
    np.testing.assert_allclose(one.maps(), expected, equal_nan=True)
    np.testing.assert_allclose(batch.maps(), expected, equal_nan=True)
    assert one.n_samples == batch.n_samples == 498
    np.testing.assert_array_equal(batch.maps([4, 1]), expected[[4, 1]])
    batch.reset()
    assert np.all(np.isnan(batch.maps())) and batch.n_samples == 0


def test_encoder_source_matches_the_encoder_run_directly():
    torch = pytest.importorskip("torch")
    from gridnav_agents.sic.model import SICEncoder

    enc = SICEncoder(n_units=16, mlp_hidden=32, generator=torch.Generator().manual_seed(2))
    env = FiringFieldRender(GridNavEnv(motion="uniform"), enc, units=4)
    _, info = env.reset(seed=0)
    vs = []
    for _ in range(12):
        *_, info = env.step(np.zeros(2, np.float32))
        vs.append(info["velocity"])
    with torch.no_grad():
        states = enc(torch.tensor(np.array(vs), dtype=torch.float32)[None])[0]
    np.testing.assert_allclose(env.view.code, states[-1].numpy(), rtol=1e-5, atol=1e-6)


def test_wrapper_gives_the_same_code_as_encoder_observation():
    torch = pytest.importorskip("torch")
    wrappers = pytest.importorskip("gridnav_agents.rl.wrappers")
    from gridnav_agents.sic.model import SICEncoder

    enc = SICEncoder(n_units=8, mlp_hidden=16, generator=torch.Generator().manual_seed(0))
    env = FiringFieldRender(wrappers.EncoderObservation(GridNavEnv(task="homing"), enc), enc)
    obs, info = env.reset(seed=1)
    for _ in range(30):
        obs, *_ = env.step(np.ones(2, np.float32))
        np.testing.assert_allclose(obs[:8], env.view.code, atol=1e-6)


def test_gridness_shown_for_ideal_grid_cells():
    pytest.importorskip("gridnav_agents.analysis.gridness")
    from gridnav_agents.viz import IdealGridSource

    view = FiringFieldView(Arena.box(2.2), 8, units=4, gridness_every=1)
    source = IdealGridSource(8, spacings=(0.5, 0.7), seed=0)
    g = np.linspace(-1.08, 1.08, 45)
    for p in np.stack(np.meshgrid(g, g), -1).reshape(-1, 2):
        view.update(p, source.rates(p))
    assert np.all(view.gridness() > 0.3)
    view.next_page()
    assert np.all(view.gridness() > 0.3) and view.shown_units.tolist() == [4, 5, 6, 7]


def test_record_writes_the_requested_number_of_frames(tmp_path: Path):
    from PIL import Image

    env = FiringFieldRender(
        make_env(task="homing"), FunctionSource(bumps(np.zeros((4, 2)))), units=4, size=(400, 300)
    )
    gif = record(env, tmp_path / "out.gif", 5, every=2, warmup=3)
    with Image.open(gif) as im:
        assert im.n_frames == 5 and im.size == (400, 300)
    folder = record(env, tmp_path / "frames", 3)
    pngs = sorted(folder.glob("*.png"))
    assert len(pngs) == 3
    with Image.open(pngs[0]) as im:
        assert im.size == (400, 300)
    shot = record(env, tmp_path / "shot.png", 2, warmup=5)
    with Image.open(shot) as im:
        assert im.size == (400, 300) and len(list(tmp_path.glob("*.png"))) == 1
    with pytest.raises(ValueError, match="frames"):
        record(env, tmp_path / "x.gif", 0)


def test_viewer_keys_and_clean_close(tmp_path: Path):
    import pygame as pg

    env = FiringFieldRender(make_env(), FunctionSource(bumps(np.zeros((40, 2)))), units=16)
    viewer = Viewer(env, fps=0, screenshot_dir=tmp_path)

    def press(key):
        pg.event.post(pg.event.Event(pg.KEYDOWN, key=key, mod=0, unicode="", scancode=0))
        viewer.tick()

    viewer.tick()
    assert env.n_steps == 1 and pg.display.get_init()
    press(pg.K_SPACE)
    steps = env.n_steps
    viewer.tick()
    assert viewer.paused and env.n_steps == steps
    press(pg.K_RIGHT)
    assert env.view.shown_units[0] == 16
    press(pg.K_LEFT)
    press(pg.K_LEFT)
    assert env.view.page == 2  # wraps around: 40 units, 3 pages
    press(pg.K_PLUS)
    assert viewer.speed == 2
    press(pg.K_r)
    assert env.view.fields.n_samples == 0
    press(pg.K_s)
    assert len(list(tmp_path.glob("*.png"))) == 1
    press(pg.K_SPACE)
    assert env.n_steps == steps + 2
    pg.event.post(pg.event.Event(pg.KEYDOWN, key=pg.K_q, mod=0, unicode="q", scancode=0))
    assert viewer.run(max_frames=1000) < 1000
    assert not pg.display.get_init()


def test_human_mode_window_opens_and_closes():
    import pygame as pg

    env = FiringFieldRender(
        GridNavEnv(render_mode="human"), FunctionSource(bumps(np.zeros((2, 2)))), units=2
    )
    env.reset(seed=0)
    env.step(np.zeros(2, np.float32))
    assert pg.display.get_init() and pg.display.get_surface().get_size() == (800, 600)
    env.close()
    assert not pg.display.get_init()


def test_cli_records_headless(tmp_path: Path, capsys):
    parser = argparse.ArgumentParser()
    add_viz_arguments(parser)
    out = tmp_path / "viz.gif"
    args = parser.parse_args(
        ["--encoder", "ideal-grid", "--record", str(out), "--steps", "3", "--size", "400x300"]
    )
    assert viz_main(args) == 0
    assert out.read_bytes()[:6] == b"GIF89a"
    assert "(3 frames)" in capsys.readouterr().out
    with pytest.raises(ValueError, match="units"):
        viz_main(parser.parse_args(["--units", "0", "--encoder", "ideal-grid"]))
    with pytest.raises(ValueError, match="encoder"):
        viz_main(parser.parse_args(["--encoder", str(tmp_path / "missing"), "--record", "x"]))


def test_missing_pretrained_encoder_falls_back_with_a_notice(capsys, monkeypatch):
    import gridnav_agents.sic.checkpoint as checkpoint
    from gridnav_agents.viz import make_source

    def missing(path="pretrained", *args, **kwargs):
        raise FileNotFoundError("no pretrained SIC encoder is installed (test)")

    monkeypatch.setattr(checkpoint, "load_encoder", missing)
    source = make_source("pretrained", seed=1)
    assert "random" in source.name and "no pretrained" in capsys.readouterr().err


def test_installed_pretrained_encoder_is_used():
    from gridnav_agents.viz import make_source

    assert make_source("pretrained").name == "pretrained SIC encoder"


def test_viz_record_example(tmp_path: Path):
    import runpy

    example = Path(__file__).resolve().parent.parent / "examples" / "viz_record.py"
    ns = runpy.run_path(str(example))
    out = ns["main"](steps=30, every=10, out=str(tmp_path / "v.gif"), encoder="random")
    assert out["frames"].shape == (3, 600, 800, 3) and out["frames"].dtype == np.uint8
    assert Path(out["path"]).read_bytes()[:6] == b"GIF89a"


@pytest.mark.parametrize("name", ["clip.mp4", "clip.avi", "frame.jpg"])
def test_record_refuses_what_it_cannot_write(tmp_path: Path, monkeypatch, name):
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # as if the video extra is absent
    env = FiringFieldRender(GridNavEnv(), FunctionSource(bumps(np.zeros((2, 2)))), units=2)
    match = "gridnav\\[video\\]" if name.endswith(".mp4") else "suffix"
    with pytest.raises(ValueError, match=match):
        record(env, tmp_path / "sub" / name, 2)
    assert not (tmp_path / "sub").exists()
    env.close()


def test_record_mp4(tmp_path: Path):
    pytest.importorskip("imageio_ffmpeg")
    env = FiringFieldRender(GridNavEnv(), FunctionSource(bumps(np.zeros((2, 2)))), units=2)
    out = record(env, tmp_path / "clip.mp4", 3, seed=0)
    env.close()
    assert out.is_file() and out.read_bytes()[4:8] == b"ftyp"
