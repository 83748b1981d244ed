"""Checks for the notebooks' exercises (``check_*``), one module per topic; ``core`` has the shared
:func:`report` and ``check_batchnorm_forward``. All public names are re-exported here, so notebooks
write ``cu.exercises.check_<name>(fn)``.
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
