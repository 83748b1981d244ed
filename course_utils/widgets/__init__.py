"""Slider panels built on pure update functions (``core``), and each topic's demos.

``core`` holds :class:`FigureView`, :class:`SliderPanel`, :func:`slider_panel` and
:func:`time_callback`; the topic modules (``calculus``, ``saturation``, ``covariate_shift``,
``batchnorm``, ``inference``, ``alternatives``, ``optimization``, ``start``) hold the demos' pure
``draw_*``/``update_*`` functions and ``*_demo`` builders. All public names are re-exported here.
"""

from .alternatives import *  # noqa: F403
from .batchnorm import *  # noqa: F403
from .calculus import *  # noqa: F403
from .core import *  # noqa: F403
from .covariate_shift import *  # noqa: F403
from .inference import *  # noqa: F403
from .optimization import *  # noqa: F403
from .saturation import *  # noqa: F403
from .start import *  # noqa: F403
