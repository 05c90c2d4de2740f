"""Show aelib's figures inline in Jupyter without ``%matplotlib inline``.

aelib builds figures as plain ``matplotlib.figure.Figure`` objects and never
imports pyplot, so nothing activates IPython's matplotlib integration: a
figure left as a cell's last expression would print as ``<Figure ...>``.
Registering the PNG formatter for ``Figure`` is the part of that integration
aelib needs; it changes nothing outside a Jupyter kernel.
"""

from __future__ import annotations

import sys


def register_figure_display() -> None:
    """In a Jupyter kernel, display ``Figure`` objects as PNG images."""
    if "IPython" not in sys.modules:
        return
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):  # a terminal IPython shows windows itself
        return
    from IPython.core.pylabtools import select_figure_formats

    select_figure_formats(shell, {"png"})
