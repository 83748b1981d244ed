"""Mistake corpus of notebook 07's checkers (running statistics, eval forward, momentum, folding, layer)."""

import numpy as np

import course_utils as cu

from .common import Corpus, Wrong, generic_wrongs

# --- update_running_stats ------------------------------------------------------------------------


def upd_right(running_mean, running_var, x, momentum=0.1):
    return (
        (1 - momentum) * running_mean + momentum * x.mean(axis=0),
        (1 - momentum) * running_var + momentum * x.var(axis=0, ddof=1),
    )


def upd_right_by_hand(running_mean, running_var, x, momentum=0.1):
    m = x.shape[0]
    mu = x.sum(axis=0) / m
    var_biased = ((x - mu) ** 2).sum(axis=0) / m
    new_mean = running_mean + momentum * (mu - running_mean)
    new_var = running_var + momentum * (var_biased * m / (m - 1) - running_var)
    return new_mean, new_var


def upd_keras(running_mean, running_var, x, momentum=0.1):
    return (
        momentum * running_mean + (1 - momentum) * x.mean(axis=0),
        momentum * running_var + (1 - momentum) * x.var(axis=0, ddof=1),
    )


def upd_biased(running_mean, running_var, x, momentum=0.1):
    return (
        (1 - momentum) * running_mean + momentum * x.mean(axis=0),
        (1 - momentum) * running_var + momentum * x.var(axis=0),
    )


def upd_inverted_correction(running_mean, running_var, x, momentum=0.1):
    m = x.shape[0]
    return (
        (1 - momentum) * running_mean + momentum * x.mean(axis=0),
        (1 - momentum) * running_var + momentum * x.var(axis=0) * (m - 1) / m,
    )


def upd_axis1(running_mean, running_var, x, momentum=0.1):
    return (
        (1 - momentum) * running_mean + momentum * x.mean(axis=1),
        (1 - momentum) * running_var + momentum * x.var(axis=1, ddof=1),
    )


def upd_std(running_mean, running_var, x, momentum=0.1):
    return (
        (1 - momentum) * running_mean + momentum * x.mean(axis=0),
        (1 - momentum) * running_var + momentum * x.std(axis=0, ddof=1),
    )


def upd_around_running_mean(running_mean, running_var, x, momentum=0.1):
    m = x.shape[0]
    return (
        (1 - momentum) * running_mean + momentum * x.mean(axis=0),
        (1 - momentum) * running_var + momentum * ((x - running_mean) ** 2).sum(axis=0) / (m - 1),
    )


def upd_in_place(running_mean, running_var, x, momentum=0.1):
    running_mean *= 1 - momentum
    running_mean += momentum * x.mean(axis=0)
    running_var *= 1 - momentum
    running_var += momentum * x.var(axis=0, ddof=1)
    return running_mean, running_var


def upd_no_axis(running_mean, running_var, x, momentum=0.1):
    return (
        (1 - momentum) * running_mean + momentum * x.mean(),
        (1 - momentum) * running_var + momentum * x.var(ddof=1),
    )


def upd_m_is_size(running_mean, running_var, x, momentum=0.1):
    m = x.size
    return (
        (1 - momentum) * running_mean + momentum * x.mean(axis=0),
        (1 - momentum) * running_var + momentum * x.var(axis=0) * m / (m - 1),
    )


def upd_keras_and_biased(running_mean, running_var, x, momentum=0.1):
    return (
        momentum * running_mean + (1 - momentum) * x.mean(axis=0),
        momentum * running_var + (1 - momentum) * x.var(axis=0),
    )


def upd_only_mean(running_mean, running_var, x, momentum=0.1):
    return (1 - momentum) * running_mean + momentum * x.mean(axis=0)


# --- batchnorm_eval_forward ----------------------------------------------------------------------


def _c(v, x):
    return np.reshape(v, (1, x.shape[1]) + (1,) * (x.ndim - 2))


def ev_right(x, gamma, beta, running_mean, running_var, eps=1e-5):
    return cu.batchnorm_inference(x, gamma, beta, running_mean, running_var, eps)


def ev_right_by_hand(x, gamma, beta, running_mean, running_var, eps=1e-5):
    scale = gamma / np.sqrt(running_var + eps)
    return (x - _c(running_mean, x)) * _c(scale, x) + _c(beta, x)


def ev_batch_stats(x, gamma, beta, running_mean, running_var, eps=1e-5):
    return cu.batchnorm_forward(x, gamma, beta, eps)[0]


def ev_eps_outside(x, gamma, beta, running_mean, running_var, eps=1e-5):
    return _c(gamma, x) * (x - _c(running_mean, x)) / (np.sqrt(_c(running_var, x)) + eps) + _c(beta, x)


def ev_no_eps(x, gamma, beta, running_mean, running_var, eps=1e-5):
    return _c(gamma, x) * (x - _c(running_mean, x)) / np.sqrt(_c(running_var, x)) + _c(beta, x)


def ev_by_variance(x, gamma, beta, running_mean, running_var, eps=1e-5):
    return _c(gamma, x) * (x - _c(running_mean, x)) / (_c(running_var, x) + eps) + _c(beta, x)


def ev_swapped(x, gamma, beta, running_mean, running_var, eps=1e-5):
    return ev_right_by_hand(x, beta, gamma, running_mean, running_var, eps)


def ev_no_affine(x, gamma, beta, running_mean, running_var, eps=1e-5):
    return (x - _c(running_mean, x)) / np.sqrt(_c(running_var, x) + eps)


def ev_no_reshape(x, gamma, beta, running_mean, running_var, eps=1e-5):
    return gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta


def ev_channel_axis0(x, gamma, beta, running_mean, running_var, eps=1e-5):
    def col(v):
        return np.reshape(v, (-1,) + (1,) * (x.ndim - 1))

    return col(gamma) * (x - col(running_mean)) / np.sqrt(col(running_var) + eps) + col(beta)


def ev_rescaled_running_var(x, gamma, beta, running_mean, running_var, eps=1e-5):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    m = x.shape[0]
    rm, rv, g, b = (a.reshape(shape) for a in (running_mean, running_var, gamma, beta))
    return g * (x - rm) / np.sqrt(rv * (m - 1) / m + eps) + b


def ev_rescaled_per_channel_count(x, gamma, beta, running_mean, running_var, eps=1e-5):
    m = x.size // x.shape[1]
    return ev_right_by_hand(x, gamma, beta, running_mean, running_var * (m - 1) / m, eps)


def ev_in_place(x, gamma, beta, running_mean, running_var, eps=1e-5):
    x -= _c(running_mean, x)
    return _c(gamma, x) * x / np.sqrt(_c(running_var, x) + eps) + _c(beta, x)


# --- to_pytorch_momentum -------------------------------------------------------------------------


def mom_right(momentum, convention):
    return momentum if convention == "pytorch" else 1 - momentum


def mom_right_table(momentum, convention):
    weight_on_batch = {"pytorch": lambda m: m, "keras": lambda m: 1.0 - m, "cs231n": lambda m: 1.0 - m}
    return float(weight_on_batch[convention](momentum))


def mom_always_flip(momentum, convention):
    return 1 - momentum


def mom_never_flip(momentum, convention):
    return momentum


def mom_cs231n_like_pytorch(momentum, convention):
    return 1 - momentum if convention == "keras" else momentum


def mom_reciprocal(momentum, convention):
    return momentum if convention == "pytorch" else 1 / momentum


def mom_string(momentum, convention):
    return f"{mom_right(momentum, convention):.2f}"


def mom_none(momentum, convention):
    mom_right(momentum, convention)


def mom_stub(momentum, convention):
    raise NotImplementedError


def mom_nan(momentum, convention):
    return float("nan")


def mom_complex(momentum, convention):
    return complex(mom_right(momentum, convention))


def mom_list(momentum, convention):
    return [mom_right(momentum, convention)]


# --- fold_batchnorm ------------------------------------------------------------------------------


def fold_right(W, b, bn):
    return cu.fold_batchnorm(W, b, bn)


def fold_right_by_hand(W, b, bn):
    scale = bn.gamma / np.sqrt(bn.running_var + bn.eps)
    W_folded = np.empty_like(W)
    for j in range(W.shape[1]):
        W_folded[:, j] = W[:, j] * scale[j]
    return W_folded, bn.beta + scale * (b - bn.running_mean)


def _s(bn):
    return bn.gamma / np.sqrt(bn.running_var + bn.eps)


def fold_eps_outside(W, b, bn):
    s = bn.gamma / (np.sqrt(bn.running_var) + bn.eps)
    return W * s, (b - bn.running_mean) * s + bn.beta


def fold_no_eps(W, b, bn):
    s = bn.gamma / np.sqrt(bn.running_var)
    return W * s, (b - bn.running_mean) * s + bn.beta


def fold_variance(W, b, bn):
    s = bn.gamma / (bn.running_var + bn.eps)
    return W * s, (b - bn.running_mean) * s + bn.beta


def fold_no_gamma(W, b, bn):
    s = 1 / np.sqrt(bn.running_var + bn.eps)
    return W * s, (b - bn.running_mean) * s + bn.beta


def fold_rows(W, b, bn):
    s = _s(bn)
    return s[:, None] * W, (b - bn.running_mean) * s + bn.beta


def fold_blog_bias(W, b, bn):
    s = _s(bn)
    return W * s, bn.beta - bn.running_mean * s


def fold_no_running_mean(W, b, bn):
    s = _s(bn)
    return W * s, b * s + bn.beta


def fold_unscaled_shift(W, b, bn):
    s = _s(bn)
    return W * s, b - bn.running_mean + bn.beta


def fold_no_beta(W, b, bn):
    s = _s(bn)
    return W * s, (b - bn.running_mean) * s


def fold_plus_mean(W, b, bn):
    s = _s(bn)
    return W * s, (b + bn.running_mean) * s + bn.beta


def fold_scaled_beta(W, b, bn):
    s = _s(bn)
    return W * s, (b - bn.running_mean + bn.beta) * s


def fold_unscaled_bias(W, b, bn):
    s = _s(bn)
    return W * s, b - s * bn.running_mean + bn.beta


def fold_in_place(W, b, bn):
    W *= _s(bn)
    return W, (b - bn.running_mean) * _s(bn) + bn.beta


def fold_changes_layer(W, b, bn):
    s = _s(bn)
    bn.running_mean = bn.running_mean * 0.0
    return W * s, b * s + bn.beta


# --- the student's layer -------------------------------------------------------------------------

_F = cu.normalization

#: the course's four pieces (what student_batchnorm_pieces picks when no function of the student passes);
#: every layer below is graded with them, as notebook 07 grades MyBatchNorm with the student's pieces
PIECES = cu.exercises.student_batchnorm_pieces(verbose=False)


def _update(rm, rv, x, momentum):
    return cu.exercises.course_update_running_stats(rm, rv, x, momentum)


class LayerRight(cu.layers.BatchNorm):
    """Notebook 07's solution: the layer is built from the pieces."""

    def forward(self, x, training=True):
        if not training:
            return PIECES.eval_forward(
                x, self.gamma, self.beta, self.running_mean, self.running_var, self.eps
            )
        out, self._cache = PIECES.forward(x, self.gamma, self.beta, self.eps)
        self.running_mean, self.running_var = PIECES.update(
            self.running_mean, self.running_var, x, self.momentum
        )
        return out

    def backward(self, dout):
        dx, self.grads["gamma"], self.grads["beta"] = PIECES.backward(dout, self._cache)
        return dx


class LayerRightOtherStyle(cu.layers.BatchNorm):
    """Right, in another style: one branch per mode, keyword arguments, the results unpacked first."""

    def forward(self, x, training=True):
        if training:
            result = PIECES.forward(x=x, gamma=self.gamma, beta=self.beta, eps=self.eps)
            self.saved = result[1]
            new = PIECES.update(self.running_mean, self.running_var, x, momentum=self.momentum)
            self.running_mean, self.running_var = new[0], new[1]
            return result[0]
        stats = dict(running_mean=self.running_mean, running_var=self.running_var)
        return PIECES.eval_forward(x, self.gamma, self.beta, eps=self.eps, **stats)

    def backward(self, dout):
        grads = PIECES.backward(dout, self.saved)
        self.grads.update(gamma=grads[1], beta=grads[2])
        return grads[0]


class LayerNoUpdate(LayerRight):
    def forward(self, x, training=True):
        if training:
            out, self._cache = _F.batchnorm_forward(x, self.gamma, self.beta, self.eps)
            return out
        return super().forward(x, training=False)


class LayerUpdatesInEval(LayerRight):
    def forward(self, x, training=True):
        self.running_mean, self.running_var = _update(self.running_mean, self.running_var, x, self.momentum)
        if training:
            out, self._cache = _F.batchnorm_forward(x, self.gamma, self.beta, self.eps)
            return out
        return _F.batchnorm_inference(x, self.gamma, self.beta, self.running_mean, self.running_var, self.eps)


class LayerBatchStatsInEval(LayerRight):
    def forward(self, x, training=True):
        if training:
            return super().forward(x, training=True)
        return _F.batchnorm_forward(x, self.gamma, self.beta, self.eps)[0]


class LayerRunningStatsInTraining(LayerRight):
    def forward(self, x, training=True):
        if training:
            super().forward(x, training=True)
        return _F.batchnorm_inference(x, self.gamma, self.beta, self.running_mean, self.running_var, self.eps)


class LayerSwappedGrads(LayerRight):
    def backward(self, dout):
        dx, self.grads["beta"], self.grads["gamma"] = _F.batchnorm_backward(dout, self._cache)
        return dx


class LayerNoGrads(LayerRight):
    def backward(self, dout):
        return _F.batchnorm_backward(dout, self._cache)[0]


class LayerForgetsReturn(LayerRight):
    def backward(self, dout):
        dx, self.grads["gamma"], self.grads["beta"] = _F.batchnorm_backward(dout, self._cache)


class LayerStub(cu.layers.BatchNorm):
    def forward(self, x, training=True):
        raise NotImplementedError

    def backward(self, dout):
        raise NotImplementedError


class LayerOnlyForward(cu.layers.BatchNorm):
    def forward(self, x, training=True):
        return super().forward(x, training)


class LayerDefaultEps(LayerRight):
    def forward(self, x, training=True):
        if training:
            return super().forward(x, training=True)
        return _F.batchnorm_inference(x, self.gamma, self.beta, self.running_mean, self.running_var)


class LayerReturnsCache(LayerRight):
    def forward(self, x, training=True):
        out = super().forward(x, training)
        return (out, self._cache) if training else out


class LayerDefaultMomentum(LayerRight):
    def forward(self, x, training=True):
        if not training:
            return super().forward(x, training=False)
        out, self._cache = _F.batchnorm_forward(x, self.gamma, self.beta, self.eps)
        self.running_mean, self.running_var = cu.exercises.course_update_running_stats(
            self.running_mean, self.running_var, x
        )
        return out


class LayerTrainingDefaultEps(LayerRight):
    def forward(self, x, training=True):
        if not training:
            return super().forward(x, training=False)
        out, self._cache = _F.batchnorm_forward(x, self.gamma, self.beta)
        self.running_mean, self.running_var = _update(self.running_mean, self.running_var, x, self.momentum)
        return out


class LayerNaN(LayerRight):
    def forward(self, x, training=True):
        out = super().forward(x, training)
        out = out.copy()
        out[0, 0] = np.nan
        return out


class LayerCrashes(LayerRight):
    def forward(self, x, training=True):
        return super().forward(x, training) + undefined_name  # noqa: F821


class LayerByHandWithoutPieces(cu.layers.BatchNorm):
    """Right numbers, computed without the pieces (the course's functions and NumPy by hand)."""

    def forward(self, x, training=True):
        if not training:
            scale = self.gamma / np.sqrt(self.running_var + self.eps)
            return (x - self.running_mean) * scale + self.beta
        m = x.shape[0]
        mu, var = x.mean(axis=0), x.var(axis=0)
        self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * mu
        self.running_var = (1 - self.momentum) * self.running_var + self.momentum * var * m / (m - 1)
        out, self.saved = _F.batchnorm_forward(x, self.gamma, self.beta, self.eps)
        return out

    def backward(self, dout):
        dx, dgamma, dbeta = _F.batchnorm_backward_staged(dout, self.saved)
        self.grads["gamma"], self.grads["beta"] = dgamma, dbeta
        return dx


class LayerDelegatesToSuper(cu.layers.BatchNorm):
    """The cheat: "its own" forward and backward just run the course's layer."""

    def forward(self, x, training=True):
        return super().forward(x, training)

    def backward(self, dout):
        return super().backward(dout)


class LayerSuperInEval(LayerRight):
    """The pieces in training, the course's layer in eval mode."""

    def forward(self, x, training=True):
        if training:
            return super().forward(x, training=True)
        return cu.layers.BatchNorm.forward(self, x, training=False)


class LayerCallsPieceButReturnsCourse(LayerRight):
    """Calls pieces.forward, then returns the course's output instead."""

    def forward(self, x, training=True):
        out = super().forward(x, training)
        if training:
            out = _F.batchnorm_forward(x, self.gamma, self.beta, self.eps)[0] + 0.0 * out
            out = out + 1e-12 * (out == out.max())  # the course's numbers, not bit-identical to the piece's
        return out


class LayerCentersInputInPlace(LayerRight):
    """x -= x.mean(0) after the update: the output and the running statistics are right."""

    def forward(self, x, training=True):
        out = super().forward(x, training)
        if training:
            x -= x.mean(axis=0)
        return out


class LayerZeroesDoutInPlace(LayerRight):
    def backward(self, dout):
        dx = super().backward(dout)
        dout *= 0
        return dx


class LayerScalesEvalInputInPlace(LayerRight):
    def forward(self, x, training=True):
        out = super().forward(x, training)
        if not training:
            x /= 2.0
        return out


def _grade_layer(check, layer_cls):
    return check(layer_cls, PIECES)


CORPUS = {
    "check_update_running_stats": Corpus(
        right=[upd_right, upd_right_by_hand],
        wrong=[
            Wrong(upd_keras, hint="weights the NEW batch statistic"),
            Wrong(upd_biased, hint="unbiased batch variance"),
            Wrong(upd_inverted_correction, hint="larger, not smaller"),
            Wrong(upd_axis1, hint="batch axis 0"),
            Wrong(upd_std, hint="not standard deviations"),
            Wrong(upd_around_running_mean, hint="batch's own mean"),
            Wrong(upd_no_axis, hint="pass axis=0"),
            Wrong(upd_m_is_size, hint="not x.size"),
            Wrong(upd_keras_and_biased, hint="weights the NEW batch statistic"),
            Wrong(upd_in_place, hint="don't modify the ones passed in", says="in place"),
            Wrong(upd_only_mean, says="return a tuple"),
            *generic_wrongs(upd_right),
        ],
    ),
    "check_batchnorm_eval_forward": Corpus(
        right=[ev_right, ev_right_by_hand],
        wrong=[
            Wrong(ev_batch_stats, hint="RUNNING statistics"),
            Wrong(ev_eps_outside, hint="inside the square root"),
            Wrong(ev_no_eps, hint="eps is missing"),
            Wrong(ev_by_variance, hint="not by the variance"),
            Wrong(ev_swapped, hint="swapped"),
            Wrong(ev_no_affine, hint="apply gamma and beta"),
            Wrong(ev_no_reshape, hint="(1, C, 1, 1)", says="raised ValueError"),
            Wrong(ev_channel_axis0, hint="reshape each of them to (1, 4)", says="raised ValueError"),
            Wrong(ev_rescaled_running_var, hint="use running_var as stored"),
            Wrong(ev_rescaled_per_channel_count, hint="correction m/(m − 1) was already applied"),
            Wrong(ev_in_place, hint="the caller still needs its input x", says="in place"),
            *generic_wrongs(ev_right_by_hand),
        ],
    ),
    "check_to_pytorch_momentum": Corpus(
        right=[mom_right, mom_right_table],
        wrong=[
            Wrong(mom_always_flip, hint="already PyTorch's"),
            Wrong(mom_never_flip, hint="weights the OLD moving value"),
            Wrong(mom_cs231n_like_pytorch, hint="like Keras"),
            Wrong(mom_reciprocal, hint="between 0 and 1"),
            Wrong(mom_string, says="string"),
            Wrong(mom_none, says="returned None"),
            Wrong(mom_stub, says="not implemented yet"),
            Wrong(mom_nan, says="NaN"),
            Wrong(mom_complex, says="complex"),
            Wrong(mom_list, says="list"),
        ],
    ),
    "check_fold_batchnorm": Corpus(
        right=[fold_right, fold_right_by_hand],
        wrong=[
            Wrong(fold_eps_outside, hint="inside the square root"),
            Wrong(fold_no_eps, hint="eps is missing"),
            Wrong(fold_variance, hint="not by the variance"),
            Wrong(fold_no_gamma, hint="includes gamma_j"),
            Wrong(fold_rows, hint="over the columns", says="raised ValueError"),
            Wrong(fold_blog_bias, hint="own bias b"),
            Wrong(fold_no_running_mean, hint="running mean must be subtracted"),
            Wrong(fold_unscaled_shift, hint="same scale as W"),
            Wrong(fold_unscaled_bias, hint="multiplies b_j as well"),
            Wrong(fold_no_beta, hint="beta is added"),
            Wrong(fold_plus_mean, hint="not b_j + mean_j"),
            Wrong(fold_scaled_beta, hint="not multiplied by gamma"),
            Wrong(fold_in_place, hint="the unfolded model must keep working", says="`W`"),
            Wrong(fold_changes_layer, hint="the unfolded model must keep working", says="`bn.running_mean`"),
            *generic_wrongs(fold_right_by_hand),
        ],
    ),
    "check_student_batchnorm_layer": Corpus(
        right=[LayerRight, LayerRightOtherStyle],
        grade=_grade_layer,
        wrong=[
            Wrong(LayerDelegatesToSuper, hint="super().forward/backward is not", says="course's own layer"),
            Wrong(
                LayerSuperInEval,
                hint="write forward and backward with the pieces",
                says="`BatchNorm.forward`",
            ),
            Wrong(LayerByHandWithoutPieces, hint="build the layer from the four pieces", says="did not call"),
            Wrong(
                LayerCallsPieceButReturnsCourse, hint="build the layer from the four pieces", says="not what"
            ),
            Wrong(
                LayerCentersInputInPlace, hint="x_c = x - mu", says="`x` in place, in training batch 1 of 3"
            ),
            Wrong(LayerZeroesDoutInPlace, hint="not dout *=", says="`dout` in place, in the backward"),
            Wrong(LayerScalesEvalInputInPlace, says="`x` in place, in the eval-mode forward"),
            Wrong(LayerNoUpdate, hint="never moved"),
            Wrong(LayerUpdatesInEval, hint="must not change the running statistics"),
            Wrong(LayerBatchStatsInEval, hint="must normalize with the running statistics"),
            Wrong(LayerRunningStatsInTraining, hint="batch's own statistics"),
            Wrong(LayerSwappedGrads, hint="swapped"),
            Wrong(LayerNoGrads, hint="self.grads['gamma']", says="was never set"),
            Wrong(LayerDefaultEps, hint="layer's own eps"),
            Wrong(LayerTrainingDefaultEps, hint="forward(x, gamma, beta, self.eps)"),
            Wrong(LayerDefaultMomentum, hint="layer's own momentum"),
            Wrong(LayerReturnsCache, hint="returns only the output array", says="got a tuple"),
            Wrong(LayerForgetsReturn, hint="must return dx", says="dx (backward) is None"),
            Wrong(LayerStub, says="not implemented yet"),
            Wrong(LayerOnlyForward, says="does not define its own backward"),
            Wrong(LayerNaN, says="NaN"),
            Wrong(LayerCrashes, says="raised NameError"),
            Wrong(cu.layers.BatchNorm, says="does not define its own"),
            Wrong(lambda: None, says="pass the class itself", name="a_function"),
        ],
    ),
}
