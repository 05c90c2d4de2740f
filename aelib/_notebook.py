"""Show aelib's figures inline in Jupyter without ``%matplotlib inline``.

aelib builds figures as plain ``matplotlib.figure.Figure`` objects and never
imports pyplot, so nothing activates IPython's matplotlib integration: a
figure left as a cell's last expression would print as ``<Figure ...>``.
Registering the PNG formatter for ``Figure`` is the part of that integration
aelib needs; it changes nothing outside a Jupyter kernel.
"""

from __future__ import annotations

import sys


def _kernel_shell():
    """The Jupyter kernel's IPython shell, or ``None`` outside one (a terminal
    IPython shows windows itself)."""
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
    """``figure`` as a 256-colour PNG: about a third of the bytes of a full-colour
    one, the same picture to the eye, so a saved notebook stays small."""
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

    The GIF goes out as an ``image/png`` output: notebook viewers and
    ``jupyter nbconvert`` have no place for ``image/gif`` (they fall back to
    text), but all of them show ``image/png`` as an ``<img>``, and the browser
    reads the GIF inside, animation included.
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

    Figures then display as 256-colour PNGs (a saved notebook stays small),
    and ``show_gif(path, scale=3)`` shows an animated GIF inline. Outside a
    Jupyter kernel it changes nothing.

    Example:
        >>> show_gif = setup_notebook()  # doctest: +SKIP
    """
    shell = _kernel_shell()
    if shell is not None:
        from matplotlib.figure import Figure

        shell.display_formatter.formatters["image/png"].for_type(Figure, _palette_png)
    return show_gif
