"""``gridnav viz``: arguments and entry point (``gridnav_agents.cli`` adds them to ``gridnav``)."""

from __future__ import annotations

import argparse

__all__ = ["add_viz_arguments", "viz_main"]


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"size must look like 800x600, got {text!r}") from err
    return w, h


def add_viz_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``gridnav viz`` options to ``parser``."""
    parser.add_argument(
        "--encoder",
        default="pretrained",
        help="'pretrained' (falls back to 'random' with a notice if none is installed), "
        "'random', 'ideal-grid' (reference grid cells) or a run directory / checkpoint",
    )
    parser.add_argument("--box", type=float, default=2.2, help="box side, metres (default 2.2)")
    parser.add_argument("--task", choices=("explore", "homing"), default="explore")
    parser.add_argument("--motion", choices=("smooth", "uniform"), default="smooth")
    parser.add_argument("--units", type=int, default=16, help="firing fields per page (16)")
    parser.add_argument("--size", type=_size, default=(800, 600), help="WxH pixels (800x600)")
    parser.add_argument("--cmap", default="inferno", help="matplotlib colormap (inferno)")
    parser.add_argument("--bin-size", type=float, default=None, help="ratemap bin, metres")
    parser.add_argument("--speed", type=float, default=1, help="env steps per frame (1)")
    parser.add_argument("--fps", type=int, default=60, help="window frame cap (60)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--screenshot-dir", default=".", help="folder for the 's' key's PNGs")
    parser.add_argument("--max-frames", type=int, default=None, help="quit after N frames")
    rec = parser.add_argument_group("headless recording")
    rec.add_argument(
        "--record",
        default=None,
        help="write OUT.gif, a folder of PNGs, or OUT.png (last frame only); no window",
    )
    rec.add_argument("--steps", type=int, default=300, help="frames to record (300)")
    rec.add_argument("--every", type=int, default=1, help="env steps between frames (1)")
    rec.add_argument("--warmup", type=int, default=0, help="env steps before the first frame")


def viz_main(args: argparse.Namespace) -> int:
    """Run the viewer, or record headless when ``--record`` is given. Returns an exit code."""
    from gridnav_agents.viz.app import Viewer, make_env, make_source, record
    from gridnav_agents.viz.wrapper import FiringFieldRender

    if args.units < 1:
        raise ValueError(f"--units must be a positive integer, got {args.units}")
    source = make_source(args.encoder, seed=args.seed)
    env = FiringFieldRender(
        make_env(args.box, args.task, args.motion),
        source,
        units=args.units,
        size=args.size,
        bin_size=args.bin_size,
        cmap=args.cmap,
    )
    try:
        if args.record:
            out = record(
                env, args.record, args.steps, every=args.every, warmup=args.warmup, seed=args.seed
            )
            frames = "the last frame" if out.suffix.lower() == ".png" else f"{args.steps} frames"
            print(f"wrote {out} ({frames})")
        else:
            viewer = Viewer(
                env,
                speed=args.speed,
                fps=args.fps,
                seed=args.seed,
                screenshot_dir=args.screenshot_dir,
            )
            viewer.run(args.max_frames)
    finally:
        env.close()
    return 0
