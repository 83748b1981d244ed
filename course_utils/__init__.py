"""course_utils — the NumPy code behind the NormLab course on Batch Normalization.

Import it as ``import course_utils as cu``. The normalization functions are re-exported at the top
level (``cu.batchnorm_forward`` …); everything else lives in its submodule:
``cu.layers``, ``cu.training``, ``cu.gradcheck``, ``cu.data``, ``cu.plotting``, ``cu.widgets``,
``cu.exercises``, ``cu.batched`` (seed-batched training), ``cu.stats`` (comparisons over
seeds in fixed words), and one module of maths/experiments per topic: ``cu.calculus`` (notebooks 01–02),
``cu.saturation`` (03), ``cu.covariate_shift`` (04), ``cu.batchnorm`` (05–06), ``cu.inference`` (07),
``cu.alternatives`` (08), ``cu.optimization`` (09). Importing has no side effects (no style change,
no data loading).
"""

from . import (
    alternatives,
    batched,
    batchnorm,
    calculus,
    covariate_shift,
    data,
    exercises,
    gradcheck,
    inference,
    layers,
    normalization,
    optimization,
    plotting,
    saturation,
    stats,
    training,
    widgets,
)
from .gradcheck import numerical_gradient_array, rel_error
from .normalization import (
    batch_renorm_backward,
    batch_renorm_forward,
    batchnorm_backward,
    batchnorm_backward_staged,
    batchnorm_forward,
    batchnorm_inference,
    fold_batchnorm,
    groupnorm_backward,
    groupnorm_forward,
    layernorm_backward,
    layernorm_forward,
    weightnorm_backward,
    weightnorm_forward,
)

__version__ = "0.1.0"

__all__ = [
    "alternatives",
    "batched",
    "batchnorm",
    "calculus",
    "covariate_shift",
    "data",
    "exercises",
    "gradcheck",
    "inference",
    "layers",
    "normalization",
    "optimization",
    "plotting",
    "saturation",
    "stats",
    "training",
    "widgets",
    "numerical_gradient_array",
    "rel_error",
    "batchnorm_forward",
    "batchnorm_backward",
    "batchnorm_backward_staged",
    "batchnorm_inference",
    "layernorm_forward",
    "layernorm_backward",
    "groupnorm_forward",
    "groupnorm_backward",
    "weightnorm_forward",
    "weightnorm_backward",
    "batch_renorm_forward",
    "batch_renorm_backward",
    "fold_batchnorm",
]
