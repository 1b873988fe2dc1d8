"""Watch grid cells form: the agent moving and each unit's firing field filling in.

* :class:`FiringFieldView` draws the composite frame (arena + agent + trail, a page of live
  firing fields with gridness, the population code as bars).
* :class:`FiringFieldRender` wraps a GridNav env so that ``render()`` returns that frame.
* Activity sources (:class:`EncoderSource`, :class:`FunctionSource`, :class:`IdealGridSource`)
  say what is shown: any encoder with ``initial_state``/``step``, or any function of position.
* :class:`Viewer` is the interactive window, :func:`record` the headless GIF/PNG recorder,
  :func:`add_viz_arguments` / :func:`viz_main` the ``gridnav viz`` command.
"""

from gridnav_agents._lazy import lazy_exports

_EXPORTS = {
    "HomingPolicy": "app",
    "Viewer": "app",
    "make_env": "app",
    "make_source": "app",
    "record": "app",
    "add_viz_arguments": "cli",
    "viz_main": "cli",
    "FiringFieldView": "composite",
    "OnlineRatemaps": "fields",
    "apply_colormap": "fields",
    "colormap_lut": "fields",
    "Layout": "layout",
    "compute_layout": "layout",
    "ActivitySource": "sources",
    "EncoderSource": "sources",
    "FunctionSource": "sources",
    "IdealGridSource": "sources",
    "as_source": "sources",
    "FiringFieldRender": "wrapper",
}

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

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
