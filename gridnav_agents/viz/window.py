"""A pygame window that shows surfaces; pumps events on every frame and closes cleanly."""

from __future__ import annotations

from gridnav_env.render import import_pygame

__all__ = ["Window"]


class Window:
    """A lazily opened pygame window of ``size`` pixels, capped at ``fps`` frames per second.

    :meth:`present` blits a surface, flips the display and ticks the clock; :meth:`events`
    returns the pending events (call it, or :meth:`present` with ``pump=True``, every frame so
    the window stays responsive). :meth:`close` shuts the display down and may be called twice.
    """

    def __init__(self, size: tuple[int, int], fps: int = 60, caption: str = "gridnav viz"):
        self.size, self.fps, self.caption = tuple(size), int(fps), caption
        self.pygame = import_pygame()
        self.display = None
        self.clock = None

    @property
    def is_open(self) -> bool:
        return self.display is not None

    def open(self) -> None:
        if self.display is None:
            pg = self.pygame
            pg.display.init()
            pg.font.init()
            self.display = pg.display.set_mode(self.size)
            pg.display.set_caption(self.caption)
            self.clock = pg.time.Clock()

    def events(self) -> list:
        """Pending pygame events (opens the window if needed)."""
        self.open()
        return self.pygame.event.get()

    def present(self, surface, pump: bool = False) -> None:
        """Show ``surface``; with ``pump`` also process (and drop) pending events."""
        self.open()
        pg = self.pygame
        if pump:
            pg.event.pump()
        self.display.blit(surface, (0, 0))
        pg.display.flip()
        if self.fps > 0:
            self.clock.tick(self.fps)

    def close(self) -> None:
        if self.display is not None:
            self.pygame.display.quit()
            self.display = None
            self.clock = None
