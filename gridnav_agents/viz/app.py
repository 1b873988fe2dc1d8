"""The interactive viewer and the headless recorder of the composite firing-field view.

:func:`make_source` and :func:`make_env` build what ``gridnav viz`` shows; :class:`Viewer` runs the
window (keys below); :func:`record` writes a GIF or a folder of PNGs without a window.

| key | action |
|---|---|
| space | pause / resume |
| ``+`` ``=`` up | twice as many steps per frame (up to 256) |
| ``-`` down | half as many (down to one step every 8 frames) |
| right ``n`` page-down | next page of units |
| left ``p`` page-up | previous page of units |
| ``r`` | reset the firing fields |
| ``s`` | save a screenshot (PNG) |
| ``q`` escape, closing the window | quit |
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from gridnav_agents.viz.sources import ActivitySource, EncoderSource, IdealGridSource
from gridnav_agents.viz.window import Window
from gridnav_agents.viz.wrapper import FiringFieldRender

__all__ = ["HomingPolicy", "Viewer", "make_env", "make_source", "record"]

SPEEDS = (0.125, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256)
HELP = "space pause   +/- speed   </> units   r reset fields   s screenshot   q quit"


def make_source(spec: str = "pretrained", seed: int = 0, n_units: int = 128) -> ActivitySource:
    """The activity source named by ``spec``.

    ``"pretrained"`` (the shipped SIC encoder; if none is installed, a notice is printed to stderr
    and a random one is used), ``"random"`` (a randomly initialised ``SICEncoder`` of ``n_units``
    drawn from ``seed``), ``"ideal-grid"`` (ideal grid cells, a visual reference) or a run
    directory / checkpoint path.
    """
    if spec == "ideal-grid":
        return IdealGridSource(n_units, seed=seed)
    from gridnav_agents.sic.checkpoint import load_encoder
    from gridnav_agents.sic.model import SICEncoder

    if spec == "pretrained":
        try:
            return EncoderSource(load_encoder("pretrained"), name="pretrained SIC encoder")
        except FileNotFoundError:
            print(
                "gridnav viz: no pretrained SIC encoder is installed yet; showing a randomly "
                f"initialised SICEncoder (seed {seed}) instead: its fields are not grid cells",
                file=sys.stderr,
            )
            spec = "random"
    if spec == "random":
        import torch

        enc = SICEncoder(n_units=n_units, generator=torch.Generator().manual_seed(seed))
        return EncoderSource(enc, name=f"random SICEncoder (untrained, seed {seed})")
    try:
        enc = load_encoder(spec)
    except FileNotFoundError as err:
        raise ValueError(f"--encoder: {err}") from err
    kind = "supervised" if getattr(enc, "kind", "sic") == "supervised" else "SIC"
    return EncoderSource(enc, name=f"{kind} encoder {spec}")


def make_env(
    box: float = 2.2, task: str = "explore", motion: str = "smooth", render_mode: str = "rgb_array"
) -> gym.Env:
    """A GridNav env for the viewer: ``explore`` runs as one endless episode (no time limit, so
    the encoder path-integrates from one start); ``homing`` episodes last at most 400 steps."""
    from gridnav_env import GridNavEnv

    env: gym.Env = GridNavEnv(box_size=box, task=task, motion=motion, render_mode=render_mode)
    if task == "homing":
        env = gym.wrappers.TimeLimit(env, max_episode_steps=400)
    return env


class HomingPolicy:
    """Scripted actions for display: towards home with noise during the homing return (an
    oracle that reads the true position; no learning), zeros otherwise (the motion model moves
    the agent)."""

    def __init__(self, seed: int = 0, noise: float = 0.5):
        self.rng, self.noise = np.random.default_rng(seed), float(noise)

    def __call__(self, info: dict[str, Any]) -> np.ndarray:
        if info.get("phase") != "return":
            return np.zeros(2, dtype=np.float32)
        d = np.asarray(info["home"], dtype=float) - np.asarray(info["position"], dtype=float)
        a = d / max(float(np.linalg.norm(d)), 1e-9) + self.noise * self.rng.normal(size=2)
        return np.clip(a, -1.0, 1.0).astype(np.float32)


class _Runner:
    """Steps a wrapped env with a policy, resetting at episode ends."""

    def __init__(self, env: FiringFieldRender, policy: HomingPolicy, seed: int | None = 0):
        self.env, self.policy = env, policy
        _, self.info = env.reset(seed=seed)

    def step(self, n: int = 1) -> None:
        for _ in range(n):
            _, _, terminated, truncated, self.info = self.env.step(self.policy(self.info))
            if terminated or truncated:
                _, self.info = self.env.reset()


class Viewer:
    """The interactive window around a :class:`FiringFieldRender` env.

    Args:
        env: the wrapped env (its inner ``render_mode`` should be ``"rgb_array"`` or ``None``;
            the viewer draws the composite itself).
        policy: maps ``info`` to an action (default :class:`HomingPolicy`).
        speed: env steps per frame (one of ``SPEEDS``, rounded to the nearest).
        fps: frame-rate cap of the window (0: uncapped).
        seed: seed of the first ``reset``.
        screenshot_dir: folder for the ``s`` key's PNGs.
    """

    def __init__(
        self,
        env: FiringFieldRender,
        policy: HomingPolicy | None = None,
        speed: float = 1,
        fps: int = 60,
        seed: int | None = 0,
        screenshot_dir: str | Path = ".",
    ):
        self.env, self.view = env, env.view
        self.view.background_gridness = True  # never stall the window on a gridness update
        self.runner = _Runner(env, policy or HomingPolicy(seed or 0), seed)
        self.speed_index = int(np.argmin([abs(np.log2(s / speed)) for s in SPEEDS]))
        self.paused, self.running = False, True
        self.window = Window(self.view.layout.size, fps=fps)
        self.screenshot_dir = Path(screenshot_dir)
        self.screenshots: list[Path] = []
        self.frames = 0
        self._credit = 0.0

    @property
    def speed(self) -> float:
        return SPEEDS[self.speed_index]

    def handle(self, event: Any) -> None:
        """React to one pygame event."""
        pg = self.window.pygame
        if event.type == pg.QUIT:
            self.running = False
        if event.type != pg.KEYDOWN:
            return
        key = event.key
        if key in (pg.K_q, pg.K_ESCAPE):
            self.running = False
        elif key == pg.K_SPACE:
            self.paused = not self.paused
        elif key in (pg.K_PLUS, pg.K_EQUALS, pg.K_KP_PLUS, pg.K_UP):
            self.speed_index = min(self.speed_index + 1, len(SPEEDS) - 1)
        elif key in (pg.K_MINUS, pg.K_KP_MINUS, pg.K_DOWN):
            self.speed_index = max(self.speed_index - 1, 0)
        elif key in (pg.K_RIGHT, pg.K_n, pg.K_PAGEDOWN):
            self.view.next_page()
        elif key in (pg.K_LEFT, pg.K_p, pg.K_PAGEUP):
            self.view.previous_page()
        elif key == pg.K_r:
            self.env.reset_fields()
        elif key == pg.K_s:
            self.screenshot()

    def screenshot(self) -> Path:
        """Save the current composite as a PNG in ``screenshot_dir``."""
        self.screenshot_dir.mkdir(parents=True, exist_ok=True)
        path = self.screenshot_dir / f"gridnav_viz_{self.env.n_steps:07d}.png"
        self.window.pygame.image.save(self.view.surface, str(path))
        self.screenshots.append(path)
        print(f"saved {path}")
        return path

    def tick(self) -> None:
        """One frame: events, simulation (unless paused), drawing."""
        for event in self.window.events():
            self.handle(event)
        if not self.running:
            return
        if not self.paused:
            self._credit += self.speed
            n = int(self._credit)
            self._credit -= n
            self.runner.step(n)
        speed = f"{self.speed:g} steps/frame"
        fps = self.window.clock.get_fps() if self.window.clock else 0.0
        state = "PAUSED" if self.paused else f"{fps:.0f} fps"
        self.view.status = [f"step {self.env.n_steps:,}   {speed}   {state}", HELP]
        self.window.present(self.view.draw())
        self.frames += 1

    def run(self, max_frames: int | None = None) -> int:
        """Loop until quit (or ``max_frames``); closes the window; returns the frames shown."""
        try:
            while self.running and (max_frames is None or self.frames < max_frames):
                self.tick()
        finally:
            self.window.close()
        return self.frames


def record(
    env: FiringFieldRender,
    out: str | Path,
    frames: int,
    *,
    every: int = 1,
    warmup: int = 0,
    fps: int = 30,
    policy: HomingPolicy | None = None,
    seed: int | None = 0,
) -> Path:
    """Record ``frames`` composite frames without a window, one every ``every`` env steps after
    ``warmup`` steps, to ``out``: a ``.gif`` (Pillow; keeps all frames in memory as 8-bit
    palette images, so prefer PNGs or MP4 for long recordings), an ``.mp4`` (H.264 through
    imageio-ffmpeg, the ``video`` extra), a ``.png`` (only the last frame: a screenshot) or,
    for a path without a suffix, a folder of numbered PNGs. Any other suffix is a
    ``ValueError`` and nothing is written."""
    for name, value, low in (("frames", frames, 1), ("every", every, 1), ("warmup", warmup, 0)):
        if isinstance(value, bool) or int(value) != value or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    from PIL import Image

    out = Path(out)
    kind = out.suffix.lower() or "folder"
    if kind not in RECORD_KINDS:
        raise ValueError(
            f"record must be a .gif, .mp4 or .png file or a folder without a suffix, got {out}"
        )
    writer = _mp4_writer(out, fps) if kind == ".mp4" else None
    (out if kind == "folder" else out.parent).mkdir(parents=True, exist_ok=True)
    runner = _Runner(env, policy or HomingPolicy(seed or 0), seed)
    images = []
    try:
        runner.step(int(warmup))
        for k in range(int(frames)):
            runner.step(int(every))
            if kind == ".png" and k < frames - 1:
                continue
            env.view.status = [f"step {env.n_steps:,}"]
            img = Image.fromarray(env.view.frame())
            if kind == ".gif":
                images.append(img.quantize(255, method=Image.Quantize.FASTOCTREE))
            elif writer is not None:
                writer.append_data(np.asarray(img))
            elif kind == ".png":
                img.save(out)
            else:
                img.save(out / f"frame_{k:05d}.png")
    finally:
        if writer is not None:
            writer.close()
    if kind == ".gif":
        images[0].save(
            out, save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0
        )
    return out


#: What :func:`record` writes, by the suffix of its ``out`` path.
RECORD_KINDS = (".gif", ".mp4", ".png", "folder")


def _mp4_writer(out: Path, fps: int) -> Any:
    """An imageio writer of H.264 MP4 at ``out``; ``ValueError`` naming the extra to install
    when imageio-ffmpeg is missing (checked before anything is written)."""
    try:
        import imageio.v2 as imageio
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        raise ValueError(
            f"recording {out.name} needs imageio-ffmpeg: pip install 'gridnav[video]' "
            "(or record a .gif or a folder of PNGs)"
        ) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    return imageio.get_writer(out, fps=fps, codec="libx264", macro_block_size=2)
