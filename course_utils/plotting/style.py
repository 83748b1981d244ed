"""The course's figure style and plot helpers. Every helper returns the Figure it drew.

Colours are the Okabe–Ito palette (safe for the common forms of colour blindness). Figures made for
interactive demos are created with :func:`new_figure`, which does *not* go through pyplot, so they
are never shown twice by the inline backend; :func:`show` displays any figure as a static PNG.
"""

from __future__ import annotations

import io

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure

__all__ = ["COLORS", "PALETTE", "use_course_style", "new_figure", "figure_to_png", "show"]

#: Okabe–Ito colours by role, so that "with BN" is the same colour in every notebook.
COLORS = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "grey": "#999999",
    # roles
    "bn": "#0072B2",
    "plain": "#D55E00",
    "ln": "#009E73",
    "gn": "#CC79A7",
    "renorm": "#E69F00",
}
PALETTE = [COLORS[k] for k in ("blue", "vermillion", "green", "purple", "orange", "sky", "yellow", "black")]

STYLE = {
    "figure.figsize": (7.0, 3.6),
    "figure.dpi": 90,
    "savefig.dpi": 90,
    "axes.prop_cycle": mpl.cycler(color=PALETTE),
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "image.cmap": "viridis",
}


def use_course_style():
    """Apply the course style to matplotlib's global rcParams (called once in each setup cell)."""
    mpl.rcParams.update(STYLE)


def new_figure(nrows: int = 1, ncols: int = 1, figsize=(7.0, 3.6), dpi: int = 80, **subplot_kw):
    """A Figure with an Agg canvas and its axes, outside pyplot (for widgets and in-place updates).

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : Axes or ndarray of Axes (as ``plt.subplots`` returns them)
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    with mpl.rc_context(STYLE):
        fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(nrows, ncols, squeeze=True, **subplot_kw)
    return fig, axes


def figure_to_png(fig, compress_level: int = 1) -> bytes:
    """Render ``fig`` with Agg and encode it as PNG bytes.

    ``compress_level=1`` trades a slightly larger file for encoding several times faster than the
    default level, which matters when a slider redraws the figure on every move.
    """
    from PIL import Image

    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())
    buf = io.BytesIO()
    Image.fromarray(rgba[..., :3]).save(buf, format="png", compress_level=compress_level)
    return buf.getvalue()


def show(fig) -> None:
    """Display ``fig`` as a static PNG in the notebook (works the same without any widget support).

    Returns None on purpose: returning the figure would make IPython display it a second time when
    ``show(...)`` is the last line of a cell (nbval ignores a trailing ``;``).
    """
    from IPython.display import Image, display

    display(Image(figure_to_png(fig, compress_level=6)))
