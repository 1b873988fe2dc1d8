"""Watch grid cells form: the agent moving and each unit's firing field filling in.

* :class:`FiringFieldView` draws the composite frame (arena + agent + trail, a page of live
  firing fields with gridness, the population code as bars).
* :class:`FiringFieldRender` wraps a GridNav env so that ``render()`` returns that frame.
* Activity sources (:class:`EncoderSource`, :class:`FunctionSource`, :class:`IdealGridSource`)
  say what is shown: any encoder with ``initial_state``/``step``, or any function of position.
* :class:`Viewer` is the interactive window, :func:`record` the headless GIF/PNG recorder,
  :func:`add_viz_arguments` / :func:`viz_main` the ``gridnav viz`` command.
"""

from gridnav_agents.viz.app import HomingPolicy, Viewer, make_env, make_source, record
from gridnav_agents.viz.cli import add_viz_arguments, viz_main
from gridnav_agents.viz.composite import FiringFieldView
from gridnav_agents.viz.fields import OnlineRatemaps, apply_colormap, colormap_lut
from gridnav_agents.viz.layout import Layout, compute_layout
from gridnav_agents.viz.sources import (
    ActivitySource,
    EncoderSource,
    FunctionSource,
    IdealGridSource,
    as_source,
)
from gridnav_agents.viz.wrapper import FiringFieldRender

__all__ = [
    "ActivitySource",
    "EncoderSource",
    "FiringFieldRender",
    "FiringFieldView",
    "FunctionSource",
    "HomingPolicy",
    "IdealGridSource",
    "Layout",
    "OnlineRatemaps",
    "Viewer",
    "add_viz_arguments",
    "apply_colormap",
    "as_source",
    "colormap_lut",
    "compute_layout",
    "make_env",
    "make_source",
    "record",
    "viz_main",
]
