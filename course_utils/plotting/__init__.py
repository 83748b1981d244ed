"""The course's figure style (``style``) and plot helpers, one module per topic.

Every helper returns the Figure it drew. Topic modules: ``calculus`` (notebooks 01–02),
``saturation`` (03), ``covariate_shift`` (04), ``batchnorm`` (05–06), ``inference`` (07),
``alternatives`` (08), ``optimization`` (09), ``start`` (00). All public names are re-exported here,
so notebooks write ``cu.plotting.<name>``.
"""

from .alternatives import *  # noqa: F403
from .batchnorm import *  # noqa: F403
from .calculus import *  # noqa: F403
from .covariate_shift import *  # noqa: F403
from .inference import *  # noqa: F403
from .optimization import *  # noqa: F403
from .saturation import *  # noqa: F403
from .start import *  # noqa: F403
from .style import *  # noqa: F403
