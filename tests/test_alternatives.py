"""Tests for course_utils.alternatives and the notebook-08 plotting, widget and exercise helpers."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import course_utils as cu
from course_utils import alternatives as alt
from course_utils.gradcheck import numerical_gradient_array, rel_error


@pytest.fixture
def rng():
    return np.random.default_rng(8)


# ---------------- RMSNorm
def test_rmsnorm_forward_matches_formula(rng):
    x = rng.normal(1.0, 2.0, size=(5, 7))
    gamma = rng.uniform(0.5, 2.0, size=7)
    out, _ = cu.rmsnorm_forward(x, gamma, eps=1e-6)
    expected = gamma * x / np.sqrt((x**2).mean(axis=1, keepdims=True) + 1e-6)
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    # each row of x_hat has root mean square 1 (up to eps)
    np.testing.assert_allclose(np.sqrt(((out / gamma) ** 2).mean(axis=1)), 1.0, rtol=1e-5)


def test_rmsnorm_equals_layernorm_for_zero_mean_rows(rng):
    x = rng.normal(size=(4, 9))
    x -= x.mean(axis=1, keepdims=True)
    gamma = rng.uniform(0.5, 2.0, size=9)
    rms, _ = cu.rmsnorm_forward(x, gamma, eps=1e-5)
    ln, _ = cu.layernorm_forward(x, gamma, np.zeros(9), eps=1e-5)
    np.testing.assert_allclose(rms, ln, rtol=1e-10, atol=1e-12)


def test_rmsnorm_is_not_layernorm_for_shifted_rows(rng):
    x = rng.normal(size=(4, 9)) + 3.0
    rms, _ = cu.rmsnorm_forward(x, np.ones(9))
    ln, _ = cu.layernorm_forward(x, np.ones(9), np.zeros(9))
    assert np.abs(rms - ln).max() > 0.5


@pytest.mark.parametrize("shape", [(6, 5), (3, 4, 2)])
def test_rmsnorm_backward_gradcheck(rng, shape):
    x = rng.normal(0.5, 1.5, size=shape)
    gamma = rng.uniform(0.5, 2.0, size=shape[1:])
    dout = rng.normal(size=shape)
    _, cache = cu.rmsnorm_forward(x, gamma)
    dx, dgamma = cu.rmsnorm_backward(dout, cache)
    dx_num = numerical_gradient_array(lambda v: cu.rmsnorm_forward(v, gamma)[0], x.copy(), dout)
    dgamma_num = numerical_gradient_array(lambda g: cu.rmsnorm_forward(x, g)[0], gamma.copy(), dout)
    assert np.abs(dx).max() > 1e-3  # not a vacuous check
    assert rel_error(dx, dx_num) < 1e-7
    assert rel_error(dgamma, dgamma_num) < 1e-7


def test_rmsnorm_keeps_float32_and_validates(rng):
    x = rng.normal(size=(3, 4)).astype(np.float32)
    out, cache = cu.rmsnorm_forward(x, np.ones(4))
    assert out.dtype == np.float32
    with pytest.raises(ValueError, match="gamma"):
        cu.rmsnorm_forward(x, np.ones(5))
    with pytest.raises(ValueError, match="eps"):
        cu.rmsnorm_forward(x, np.ones(4), eps=0.0)
    with pytest.raises(ValueError, match="dout"):
        cu.rmsnorm_backward(np.ones((3, 5)), cache)
    with pytest.raises(TypeError, match="cache"):
        cu.rmsnorm_backward(np.ones((3, 4)), None)


# ---------------- InstanceNorm
def test_instancenorm_equals_groupnorm_with_one_channel_per_group(rng):
    x = rng.normal(2.0, 3.0, size=(3, 4, 5, 2))
    gamma, beta = rng.uniform(0.5, 2, 4), rng.normal(size=4)
    inorm, _ = cu.instancenorm_forward(x, gamma, beta)
    gn, _ = cu.groupnorm_forward(x, gamma, beta, num_groups=4)
    np.testing.assert_allclose(inorm, gn, rtol=1e-10, atol=1e-12)
    xh = (inorm - beta[None, :, None, None]) / gamma[None, :, None, None]
    np.testing.assert_allclose(xh.mean(axis=(2, 3)), 0.0, atol=1e-12)


def test_instancenorm_backward_gradcheck(rng):
    x = rng.normal(size=(2, 3, 4))
    gamma, beta = rng.uniform(0.5, 2, 3), rng.normal(size=3)
    dout = rng.normal(size=x.shape)
    _, cache = cu.instancenorm_forward(x, gamma, beta)
    dx, dgamma, dbeta = cu.instancenorm_backward(dout, cache)
    f = lambda v: cu.instancenorm_forward(v, gamma, beta)[0]  # noqa: E731
    assert rel_error(dx, numerical_gradient_array(f, x.copy(), dout)) < 1e-7
    g = lambda v: cu.instancenorm_forward(x, v, beta)[0]  # noqa: E731
    assert rel_error(dgamma, numerical_gradient_array(g, gamma.copy(), dout)) < 1e-7
    np.testing.assert_allclose(dbeta, dout.sum(axis=(0, 2)))


def test_instancenorm_needs_spatial_axes():
    with pytest.raises(ValueError, match="spatial"):
        cu.instancenorm_forward(np.ones((4, 3)), np.ones(3), np.zeros(3))


# ---------------- axes cube
def _normalize_block(method, x, num_groups):
    """The course's real normalization of an (N, C, S) block, γ = 1, β = 0."""
    C = x.shape[1]
    ones, zeros = np.ones(C), np.zeros(C)
    if method == "batch":
        return cu.batchnorm_forward(x, ones, zeros)[0]
    if method == "layer":
        return cu.layernorm_forward(x, np.ones(x.shape[1:]), np.zeros(x.shape[1:]))[0]
    if method == "instance":
        return cu.instancenorm_forward(x, ones, zeros)[0]
    return cu.groupnorm_forward(x, ones, zeros, num_groups=num_groups)[0]


@pytest.mark.parametrize("method", alt.NORM_METHODS)
def test_mask_is_exactly_the_cells_that_influence_one_output(rng, method):
    """Which inputs change output cell (n0, c0, s0)? Exactly those sharing its mean and variance."""
    shape, n0, c0, s0, G = (3, 6, 4), 1, 4, 2, 3
    x = rng.normal(size=shape)
    base = _normalize_block(method, x, G)[n0, c0, s0]
    influence = np.zeros(shape, dtype=bool)
    for idx in np.ndindex(shape):
        x2 = x.copy()
        x2[idx] += 0.5
        influence[idx] = abs(_normalize_block(method, x2, G)[n0, c0, s0] - base) > 1e-9
    mask = alt.shared_statistics_mask(method, shape, sample=n0, channel=c0, num_groups=G)
    np.testing.assert_array_equal(mask, influence)
    n_stats, per_stat = alt.statistics_count(method, shape, G)
    assert mask.sum() == per_stat
    assert n_stats * per_stat == np.prod(shape)


def test_mask_validation():
    with pytest.raises(ValueError, match="method"):
        alt.shared_statistics_mask("weight", (2, 4, 3))
    with pytest.raises(ValueError, match="num_groups"):
        alt.shared_statistics_mask("group", (2, 4, 3), num_groups=3)
    with pytest.raises(ValueError, match="shape"):
        alt.shared_statistics_mask("batch", (2, 4))
    with pytest.raises(ValueError, match="channel"):
        alt.shared_statistics_mask("batch", (2, 4, 3), channel=4)


# ---------------- invariance table
def test_invariance_table_reproduces_ba_2016_table_1():
    table = alt.invariance_table()
    assert table.agreement_with_paper() == (18, 18)
    for method, paper in alt.BA2016_TABLE1.items():
        assert table.invariant(method) == paper
    # "No" must mean a real change, not a borderline one
    for row in table.changes.values():
        for change in row.values():
            assert change < 1e-8 or change > 0.05


def test_invariance_table_rmsnorm_row_matches_zhang_sennrich_2019():
    table = alt.invariance_table(methods=("rms norm",))
    assert table.invariant("rms norm") == (True, False, False, True, False, True)
    assert "rms norm" in table.to_text()


def test_invariance_table_validation():
    with pytest.raises(ValueError, match="methods"):
        alt.invariance_table(methods=("group norm",))
    with pytest.raises(ValueError, match="n "):
        alt.invariance_table(n=1)
    with pytest.raises(TypeError, match="tol"):
        alt.invariance_table(tol="small")


# ---------------- batch-size experiment
@pytest.fixture(scope="module")
def digits():
    return cu.data.load_digits_split(seed=0)


def test_accuracy_with_batch_statistics_leaves_model_unchanged(digits):
    X, Xt, y, yt = digits
    model = cu.training.MLP([64, 16, 10], activation="relu", normalization="batch", seed=0)
    cu.training.train(model, X, y, steps=30, batch_size=8, lr=0.1)
    bn = model.layers[model.norm_indices[0]]
    before = (bn.running_mean.copy(), bn.running_var.copy(), bn.num_batches_tracked)
    eval_acc = model.accuracy(Xt, yt)
    acc = alt.accuracy_with_batch_statistics(model, Xt, yt, batch_size=4)
    assert 0.0 <= acc <= 1.0
    np.testing.assert_array_equal(bn.running_mean, before[0])
    np.testing.assert_array_equal(bn.running_var, before[1])
    assert bn.num_batches_tracked == before[2]
    assert model.accuracy(Xt, yt) == eval_acc


def test_accuracy_with_batch_statistics_equals_eval_for_layernorm(digits):
    X, Xt, y, yt = digits
    model = cu.training.MLP([64, 16, 10], activation="relu", normalization="layer", seed=0)
    cu.training.train(model, X, y, steps=30, batch_size=8, lr=0.1)
    n = (len(yt) // 5) * 5
    order = np.random.default_rng(0).permutation(len(yt))[:n]
    expected = model.accuracy(Xt[order], yt[order])
    assert alt.accuracy_with_batch_statistics(model, Xt, yt, batch_size=5, seed=0) == pytest.approx(expected)


def test_accuracy_with_batch_statistics_validation(digits):
    X, Xt, y, yt = digits
    with pytest.raises(TypeError, match="model"):
        alt.accuracy_with_batch_statistics("net", Xt, yt, 4)
    model = cu.training.MLP([64, 10], seed=0)
    with pytest.raises(ValueError, match="batch_size"):
        alt.accuracy_with_batch_statistics(model, Xt[:3], yt[:3], 4)


def test_renorm_limits_schedule():
    assert alt.renorm_limits(0, 100) == (1.0, 0.0)
    assert alt.renorm_limits(9, 100) == (1.0, 0.0)
    r, d = alt.renorm_limits(30, 100)
    assert r == pytest.approx(2.0) and d == pytest.approx(2.5)
    assert alt.renorm_limits(50, 100) == (3.0, 5.0)
    assert alt.renorm_limits(0, 10, warmup=0, ramp=0) == (3.0, 5.0)
    with pytest.raises(ValueError, match="r_max"):
        alt.renorm_limits(0, 10, r_max=0.5)


def test_renorm_trace_and_schedule_in_training(digits):
    X, _, y, _ = digits
    steps = 40
    model = cu.training.MLP(
        [64, 12, 10], activation="relu", normalization="renorm", seed=1, r_max=1.0, d_max=0.0
    )
    trace = alt.RenormTraceHook(model.norm_indices[0])
    schedule = alt.RenormSchedule(steps, warmup=0.25, ramp=0.5)
    cu.training.train(model, X, y, steps=steps, batch_size=4, lr=0.05, hooks=[trace, schedule])
    r, d, r_raw, d_raw = trace.r, trace.d, trace.r_raw, trace.d_raw
    assert r.shape == (steps, 12) and d_raw.shape == (steps, 12)
    # during warm-up Batch Renorm is batch norm: r = 1, d = 0
    np.testing.assert_array_equal(r[:10], 1.0)
    np.testing.assert_array_equal(d[:10], 0.0)
    # the values used are the raw ones clipped with the limits in force at that step
    for t in range(steps):
        rc, dc = alt.clip_renorm(r_raw[t], d_raw[t], trace.r_max[t], trace.d_max[t])
        np.testing.assert_allclose(r[t], rc, rtol=1e-12)
        np.testing.assert_allclose(d[t], dc, rtol=1e-12, atol=1e-15)
    assert trace.r_max[-1] == 3.0 and trace.d_max[-1] == 5.0
    assert np.any(r[-10:] != 1.0)


def test_renorm_trace_rejects_other_layers(digits):
    X, _, y, _ = digits
    model = cu.training.MLP([64, 8, 10], normalization="batch", seed=0)
    hook = alt.RenormTraceHook(model.norm_indices[0])
    with pytest.raises(TypeError, match="BatchRenorm"):
        cu.training.train(model, X, y, steps=2, batch_size=4, lr=0.1, hooks=[hook])


def test_clip_renorm():
    r, d = alt.clip_renorm(np.array([0.1, 1.0, 10.0]), np.array([-9.0, 0.5, 9.0]), 2.0, 1.0)
    np.testing.assert_array_equal(r, [0.5, 1.0, 2.0])
    np.testing.assert_array_equal(d, [-1.0, 0.5, 1.0])
    r, d = alt.clip_renorm(np.array([0.3, 4.0]), np.array([-2.0, 2.0]), 1.0, 0.0)
    np.testing.assert_array_equal(r, 1.0)
    np.testing.assert_array_equal(d, 0.0)
    with pytest.raises(ValueError, match="d_max"):
        alt.clip_renorm(1.0, 0.0, 2.0, -1.0)


def test_run_batch_size_experiment_small(digits):
    X, Xt, y, yt = digits
    res = alt.run_batch_size_experiment(
        X,
        y,
        Xt,
        yt,
        methods=("batch", "layer"),
        batch_sizes=(2, 16),
        seeds=(0, 1),
        hidden=(8,),
        examples=64,
        num_groups=2,
    )
    assert res.test_accuracy.shape == (2, 2, 2)
    assert res.steps == {2: 32, 16: 4}
    assert res.lrs[16] == pytest.approx(8 * res.lrs[2])
    assert np.all((res.test_accuracy >= 0) & (res.test_accuracy <= 1))
    # LayerNorm has no batch statistics: both accuracies coincide
    np.testing.assert_array_equal(res.batch_stat_accuracy[1], res.test_accuracy[1])
    text = res.to_text()
    assert "batch" in text and "±" in text
    with pytest.raises(ValueError, match="batch size"):
        alt.run_batch_size_experiment(X, y, Xt, yt, batch_sizes=(1,), examples=64)


def test_weight_change_and_grad_norms_match_a_manual_run(digits):
    X, Xt, y, yt = digits
    res = alt.run_batch_size_experiment(
        X, y, Xt, yt, methods=("batch",), batch_sizes=(4,), seeds=(3,), hidden=(8,), examples=40
    )
    assert res.weight_change.shape == (1, 1, 1, 2)
    assert res.grad_norms[("batch", 4, 3)].shape == (10, 2)
    model = cu.training.MLP([64, 8, 10], activation="relu", normalization="batch", seed=3)
    w0 = [model.layers[i].W.copy() for i in model.linear_indices]
    hook = cu.training.GradNormHook()
    cu.training.train(model, X, y, steps=10, batch_size=4, lr=res.lrs[4], seed=3, hooks=[hook])
    expected = [
        np.linalg.norm(model.layers[i].W - w) / np.linalg.norm(w)
        for i, w in zip(model.linear_indices, w0, strict=True)
    ]
    np.testing.assert_allclose(res.weight_change[0, 0, 0], expected, rtol=1e-12)
    np.testing.assert_allclose(res.grad_norms[("batch", 4, 3)], hook.values, rtol=1e-12)


def _fake_result(grad_norms, seeds=(0, 1)):
    shape = (1, 1, len(seeds))
    return alt.BatchSizeResult(
        methods=("batch",),
        batch_sizes=(2,),
        seeds=seeds,
        test_accuracy=np.array([[[0.5, 0.7]]]),
        batch_stat_accuracy=np.zeros(shape),
        weight_change=np.arange(2 * len(seeds)).reshape(shape + (2,)),
        grad_norms=grad_norms,
        steps={2: 100},
        lrs={2: 0.1},
        seconds=0.0,
    )


def test_gradient_stats_and_mean_std():
    spiky = np.ones((100, 2))
    spiky[17, 0] = 10.0  # one spike: its square is 100 of the 199 summed
    steady = np.full((100, 2), 2.0)
    res = _fake_result({("batch", 2, 0): spiky, ("batch", 2, 1): steady})
    stats = res.gradient_stats("batch", 2, layer=0)
    np.testing.assert_allclose(stats["median"], [1.0, 2.0])
    np.testing.assert_allclose(stats["max"], [10.0, 2.0])
    np.testing.assert_allclose(stats["top_share"], [100 / 199, 0.01])
    np.testing.assert_allclose(stats["weight_change"], [0, 2])
    np.testing.assert_allclose(res.gradient_stats("batch", 2, layer=1)["weight_change"], [1, 3])
    mean, std = res.mean_std("test_accuracy")
    assert mean[0, 0] == pytest.approx(0.6)
    assert std[0, 0] == pytest.approx(np.sqrt(0.02))  # sample std (ddof=1), not 0.1
    with pytest.raises(ValueError, match="method"):
        res.gradient_stats("layer", 2)
    with pytest.raises(ValueError, match="batch_size"):
        res.gradient_stats("batch", 4)
    with pytest.raises(ValueError, match="layer"):
        res.gradient_stats("batch", 2, layer=2)
    with pytest.raises(ValueError, match="top"):
        res.gradient_stats("batch", 2, top=2.0)


def test_batchnorm_with_two_examples_outputs_signs_and_blocks_the_gradient(rng):
    """The fact notebook 08 builds on: with m = 2, BN gives ±1 and (almost) no gradient to x."""
    x = rng.normal(size=(2, 6))
    x[1] = x[0] + rng.choice([-1, 1], size=6) * rng.uniform(2.0, 4.0, size=6)  # var >= 1 per feature
    out, cache = cu.batchnorm_forward(x, np.ones(6), np.zeros(6))
    var = (x[0] - x[1]) ** 2 / 4
    np.testing.assert_allclose(np.abs(out), np.broadcast_to(np.sqrt(var / (var + 1e-5)), (2, 6)), rtol=1e-12)
    np.testing.assert_array_equal(np.sign(out[0]), -np.sign(out[1]))
    dout = rng.normal(size=(2, 6))
    dx, _, _ = cu.batchnorm_backward(dout, cache)
    assert np.abs(dx).max() < 1e-4 * np.abs(dout).max()
    # with m = 4 the same check fails: there the gradient is of order 1
    x4 = rng.normal(size=(4, 6))
    _, cache4 = cu.batchnorm_forward(x4, np.ones(6), np.zeros(6))
    assert np.abs(cu.batchnorm_backward(rng.normal(size=(4, 6)), cache4)[0]).max() > 0.1


# ---------------- plots, widget, exercise
def test_plots_return_figures(digits):
    from matplotlib.figure import Figure

    assert isinstance(cu.plotting.plot_axes_cubes(), Figure)
    X, Xt, y, yt = digits
    res = alt.run_batch_size_experiment(
        X,
        y,
        Xt,
        yt,
        methods=("batch", "renorm"),
        batch_sizes=(4, 8),
        seeds=(0,),
        hidden=(8,),
        examples=32,
        num_groups=2,
    )
    assert isinstance(cu.plotting.plot_batch_size_results(res), Figure)
    model = cu.training.MLP([64, 8, 10], normalization="renorm", seed=0)
    trace = alt.RenormTraceHook(model.norm_indices[0])
    cu.training.train(model, X, y, steps=20, batch_size=4, lr=0.05, hooks=[trace])
    assert isinstance(cu.plotting.plot_renorm_trace(trace), Figure)
    spikes = cu.plotting.plot_gradient_spikes(res, batch_size=4, methods=("batch", "renorm"))
    assert isinstance(spikes, Figure)
    with pytest.raises(ValueError, match="seed"):
        cu.plotting.plot_gradient_spikes(res, batch_size=4, seed=7)
    with pytest.raises(ValueError, match="batch_size"):
        cu.plotting.plot_gradient_spikes(res, batch_size=2)


def test_renorm_clip_view_extremes_are_clean(digits):
    X, _, y, _ = digits
    model = cu.training.MLP([64, 8, 10], normalization="renorm", seed=0)
    trace = alt.RenormTraceHook(model.norm_indices[0])
    cu.training.train(model, X, y, steps=30, batch_size=4, lr=0.05, hooks=[trace])
    fig, update = cu.widgets.renorm_clip_view(trace)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        text = update(r_max=1.0, d_max=0.0)
        assert "100%" in text  # plain BN: every correction clipped away
        text = update(r_max=5.0, d_max=3.0)
        fig.canvas.draw()
    line_r = fig.axes[0].lines[1]
    assert np.all(np.isfinite(line_r.get_ydata()))
    assert np.all(line_r.get_ydata() <= 5.0)
    with pytest.raises(ValueError, match="unit"):
        cu.widgets.renorm_clip_view(trace, unit=99)


def test_batch_size_sweep_equals_separate_runs(digits):
    """The seed-batched sweep gives the numbers of run_batch_size_experiment (one run at a time)."""
    X, Xt, y, yt = digits
    kw = dict(batch_sizes=(4, 32), seeds=(0, 3), examples=128)
    sweep = alt.batch_size_sweep(X, y, Xt, yt, methods=("batch", "group"), **kw)
    single = alt.run_batch_size_experiment(X, y, Xt, yt, methods=("batch", "group"), **kw)
    np.testing.assert_allclose(sweep.test_accuracy, single.test_accuracy, atol=1e-12)
    assert sweep.steps == single.steps and sweep.lrs == single.lrs
    np.testing.assert_array_equal(sweep.accuracy("group", 4), sweep.test_accuracy[1, 0])
    gap = sweep.batch_stat_accuracy("batch", 4, Xt, yt)
    np.testing.assert_allclose(gap, single.batch_stat_accuracy[0, 0], atol=1e-12)
    assert "batch" in sweep.to_text() and sweep.mean_std()[0].shape == (2, 2)
    with pytest.raises(ValueError, match="method"):
        sweep.accuracy("renorm", 4)
    with pytest.raises(ValueError, match="methods"):
        alt.batch_size_sweep(X, y, Xt, yt, methods=("instance",), **kw)
    fig = cu.plotting.plot_batch_size_sweep(sweep)
    assert len(fig.axes) == 1


def test_batch_size_sweep_renorm_follows_the_schedule_like_the_hook(digits):
    """Batch Renorm in the seed-batched sweep (train_seeds(renorm_schedule=...)) gives the numbers of
    run_batch_size_experiment, where RenormSchedule is a hook; the warm-up changes the result."""
    X, Xt, y, yt = digits
    kw = dict(batch_sizes=(2, 8), seeds=(0, 3), examples=160)
    sweep = alt.batch_size_sweep(X, y, Xt, yt, methods=("renorm", "batch"), **kw)
    single = alt.run_batch_size_experiment(X, y, Xt, yt, methods=("renorm", "batch"), **kw)
    np.testing.assert_allclose(sweep.test_accuracy, single.test_accuracy, atol=1e-12)
    gap = sweep.batch_stat_accuracy("renorm", 2, Xt, yt)
    np.testing.assert_allclose(gap, single.batch_stat_accuracy[0, 0], atol=1e-12)
    no_warmup = alt.batch_size_sweep(
        X, y, Xt, yt, methods=("renorm",), renorm_warmup=0.0, renorm_ramp=0.0, **kw
    )
    assert not np.allclose(no_warmup.runs[("renorm", 2)].loss, sweep.runs[("renorm", 2)].loss)
    with pytest.raises(ValueError, match="r_max"):
        alt.batch_size_sweep(X, y, Xt, yt, methods=("renorm",), r_max=0.5, **kw)
