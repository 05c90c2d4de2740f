"""Show aelib's figures inline in Jupyter without ``%matplotlib inline``.

aelib never imports pyplot, so nothing activates IPython's matplotlib integration
and a figure would print as ``<Figure ...>``; this registers a PNG formatter for
``Figure`` instead, in a Jupyter kernel only.
"""

from __future__ import annotations

import sys


def _kernel_shell():
    """The Jupyter kernel's IPython shell, or ``None`` outside one."""
    if "IPython" not in sys.modules:
        return None
    from IPython import get_ipython

    shell = get_ipython()
    return shell if shell is not None and hasattr(shell, "kernel") else None


def register_figure_display() -> None:
    """In a Jupyter kernel, display ``Figure`` objects as PNG images."""
    shell = _kernel_shell()
    if shell is None:
        return
    from IPython.core.pylabtools import select_figure_formats

    select_figure_formats(shell, {"png"})


def _palette_png(figure) -> bytes:
    """``figure`` as a 256-colour PNG, the same to the eye, so a saved notebook stays small."""
    import io

    from IPython.core.pylabtools import print_figure
    from PIL import Image

    picture = Image.open(io.BytesIO(print_figure(figure, "png", bbox_inches="tight")))
    buffer = io.BytesIO()
    picture.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT).save(
        buffer, "png", optimize=True)
    return buffer.getvalue()


def show_gif(path, scale: float = 3) -> None:
    """Show the animated GIF at ``path`` inline, enlarged ``scale`` times.

    It goes out as ``image/png``: notebook viewers and ``nbconvert`` show that as an
    ``<img>`` (the browser plays the GIF inside), but fall back to text for ``image/gif``.
    """
    import base64
    from pathlib import Path

    from IPython.display import display

    from .animation import read_gif

    path = Path(path)
    height, width = read_gif(path).shape[1:3]
    gif = base64.b64encode(path.read_bytes()).decode("ascii")
    display({"image/png": gif, "text/plain": f"<animated GIF {path.name}>"}, raw=True,
            metadata={"image/png": {"width": scale * width, "height": scale * height}})


def setup_notebook():
    """Set up a Jupyter notebook for aelib's tutorial; returns :func:`show_gif`.

    Figures then display as 256-colour PNGs, and ``show_gif(path, scale=3)`` shows
    an animated GIF inline. Outside a Jupyter kernel it changes nothing.

    Example:
        >>> show_gif = setup_notebook()  # doctest: +SKIP
    """
    shell = _kernel_shell()
    if shell is not None:
        from matplotlib.figure import Figure

        shell.display_formatter.formatters["image/png"].for_type(Figure, _palette_png)
    return show_gif
