"""Tests of course_utils.batched: seed-batched training gives the numbers of separate train() runs."""

from __future__ import annotations

import platform
import resource

import numpy as np
import pytest

from course_utils.batched import SeedRuns, train_seeds
from course_utils.data import load_digits_split
from course_utils.training import MLP, keep_freed_memory, train

SIZES = [64, 32, 32, 10]  # 32 channels: GroupNorm's 4 groups divide it
SEEDS = (0, 3, 7)
TOL = 1e-12  # the contract; in practice the numbers are bit-identical


@pytest.fixture(scope="module")
def digits():
    return load_digits_split(test_fraction=0.25, seed=0)


def _separate(digits, seed, *, steps, lr, momentum, eval_every=40, batch_size=32, **mlp):
    X, X_test, y, y_test = digits
    model = MLP(SIZES, seed=seed, **mlp)
    hist = train(
        model,
        X,
        y,
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        momentum=momentum,
        seed=seed,
        X_test=X_test,
        y_test=y_test,
        eval_every=eval_every,
    )
    return model, hist


def _max_difference(runs: SeedRuns, i: int, model: MLP, hist) -> float:
    """Largest absolute difference between seed i of ``runs`` and a separate run (asserts the shapes)."""
    h = runs.history(i)
    assert (h.steps_taken, h.diverged) == (hist.steps_taken, hist.diverged)
    np.testing.assert_array_equal(h.test_steps, hist.test_steps)
    diffs = [
        np.abs(h.loss - hist.loss).max(initial=0.0),
        np.abs(h.batch_accuracy - hist.batch_accuracy).max(initial=0.0),
        np.abs(h.test_accuracy - hist.test_accuracy).max(initial=0.0),
    ]
    trained = runs.model(i)
    for mine, theirs in zip(trained.layers, model.layers, strict=True):
        assert type(mine) is type(theirs)
        for name in theirs.params:
            diffs.append(np.abs(mine.params[name] - theirs.params[name]).max())
        if hasattr(theirs, "running_mean"):
            diffs.append(np.abs(mine.running_mean - theirs.running_mean).max())
            diffs.append(np.abs(mine.running_var - theirs.running_var).max())
            assert mine.num_batches_tracked == theirs.num_batches_tracked
    return float(max(diffs))


CASES = [
    (norm, momentum, act, place)
    for norm in ("none", "batch", "layer")
    for momentum in (0.0, 0.9)
    for act in ("sigmoid", "relu")
    for place in ("before", "after")
    if not (norm == "none" and place == "after")  # placement means nothing without a norm
]


@pytest.mark.parametrize("normalization, momentum, activation, placement", CASES)
def test_equals_separate_runs(digits, normalization, momentum, activation, placement):
    X, X_test, y, y_test = digits
    mlp = dict(activation=activation, normalization=normalization, placement=placement)
    runs = train_seeds(
        SIZES,
        SEEDS,
        X,
        y,
        steps=120,
        batch_size=32,
        lr=0.1,
        momentum=momentum,
        X_test=X_test,
        y_test=y_test,
        eval_every=40,
        **mlp,
    )
    for i, seed in enumerate(SEEDS):
        model, hist = _separate(digits, seed, steps=120, lr=0.1, momentum=momentum, **mlp)
        assert _max_difference(runs, i, model, hist) <= TOL
        np.testing.assert_array_equal(runs.loss[i], hist.loss)  # the same floating-point operations
    np.testing.assert_array_equal(runs.test_steps, [40, 80, 120])
    assert runs.test_accuracy.shape == (3, 3) and not runs.diverged.any()
    np.testing.assert_array_equal(runs.steps_taken, [120] * 3)


@pytest.mark.parametrize(
    "mlp",
    [
        dict(normalization="group", activation="tanh", num_groups=4),
        dict(normalization="renorm", activation="sigmoid", placement="after", r_max=1.5, d_max=0.5),
        dict(normalization="batch", activation="tanh", bn_momentum=0.3, eps=1e-3, init_scale=0.5),
    ],
    ids=["group-tanh", "renorm-after", "batch-options"],
)
def test_other_normalizations_and_options(digits, mlp):
    X, X_test, y, y_test = digits
    runs = train_seeds(
        SIZES, SEEDS, X, y, steps=80, batch_size=32, lr=0.2, momentum=0.5, X_test=X_test, y_test=y_test, **mlp
    )
    for i, seed in enumerate(SEEDS):
        model, hist = _separate(digits, seed, steps=80, lr=0.2, momentum=0.5, eval_every=0, **mlp)
        assert _max_difference(runs, i, model, hist) <= TOL
        if mlp["normalization"] == "renorm":
            r_model = runs.model(i).layers[model.norm_indices[0]]
            np.testing.assert_array_equal(r_model.last_r, model.layers[model.norm_indices[0]].last_r)


def test_renorm_schedule_equals_train_with_the_schedule_hook(digits):
    """Batch Renorm with Ioffe's r_max/d_max warm-up (notebook 08): train_seeds(renorm_schedule=...) equals
    train() with the model built at the step-0 limits and alternatives.RenormSchedule as a hook."""
    from course_utils.alternatives import RenormSchedule, renorm_limits

    X, X_test, y, y_test = digits
    steps = 60
    runs = train_seeds(
        SIZES,
        SEEDS,
        X,
        y,
        steps=steps,
        batch_size=4,
        lr=0.05,
        activation="relu",
        normalization="renorm",
        X_test=X_test,
        y_test=y_test,
        renorm_schedule=lambda t: renorm_limits(t, steps),
    )
    r0, d0 = renorm_limits(0, steps)
    for i, seed in enumerate(SEEDS):
        model = MLP(SIZES, seed=seed, activation="relu", normalization="renorm", r_max=r0, d_max=d0)
        hist = train(
            model,
            X,
            y,
            steps=steps,
            batch_size=4,
            lr=0.05,
            seed=seed,
            hooks=[RenormSchedule(steps)],
            X_test=X_test,
            y_test=y_test,
        )
        assert _max_difference(runs, i, model, hist) <= TOL
    # the schedule matters: with the final limits from step 0 the numbers differ
    fixed = train_seeds(
        SIZES, SEEDS[:1], X, y, steps=steps, batch_size=4, lr=0.05, activation="relu", normalization="renorm"
    )
    assert np.abs(fixed.loss[0] - runs.loss[0]).max() > 1e-6
    with pytest.raises(ValueError, match="renorm_schedule"):
        train_seeds(
            SIZES,
            (0,),
            X,
            y,
            steps=2,
            batch_size=4,
            lr=0.1,
            normalization="batch",
            renorm_schedule=lambda t: (1.0, 0.0),
        )
    with pytest.raises(ValueError, match="r_max"):
        train_seeds(
            SIZES,
            (0,),
            X,
            y,
            steps=2,
            batch_size=4,
            lr=0.1,
            normalization="renorm",
            renorm_schedule=lambda t: (0.5, 0.0),
        )


def test_a_diverged_seed_stops_and_does_not_disturb_the_others(digits):
    X, X_test, y, y_test = digits
    seeds = (0, 1, 2, 3)
    kw = dict(steps=60, lr=3.0, momentum=0.9)
    runs = train_seeds(
        SIZES,
        seeds,
        X,
        y,
        batch_size=32,
        activation="relu",
        X_test=X_test,
        y_test=y_test,
        eval_every=20,
        **kw,
    )
    assert runs.diverged.any() and not runs.diverged.all(), "the case must mix diverged and healthy seeds"
    for i, seed in enumerate(seeds):
        model, hist = _separate(digits, seed, activation="relu", eval_every=20, **kw)
        assert _max_difference(runs, i, model, hist) <= TOL
        taken = runs.steps_taken[i]
        if runs.diverged[i]:
            assert taken < 60
            assert np.isnan(runs.loss[i, taken:]).all() and np.isnan(runs.batch_accuracy[i, taken:]).all()
            assert not np.isnan(runs.loss[i, taken - 1])  # the offending loss is recorded, as in train()
            later = runs.test_steps >= taken
            np.testing.assert_array_equal(runs.test_accuracy[i, later], 0.1)  # chance, never NaN
            assert runs.final_test_accuracy[i] == 0.1
        else:
            assert taken == 60 and np.isfinite(runs.loss[i]).all()


def test_every_seed_diverges(digits):
    X, _, y, _ = digits
    runs = train_seeds(SIZES, (0, 1), X, y, steps=30, batch_size=32, lr=50.0, activation="relu")
    assert runs.diverged.all() and (runs.steps_taken < 30).all()
    assert runs.test_steps.size == 0 and np.isnan(runs.final_test_accuracy).all()
    assert isinstance(runs.model(1), MLP)


def test_a_seed_does_not_depend_on_its_companions(digits):
    X, _, y, _ = digits
    kw = dict(steps=50, batch_size=20, lr=0.1, normalization="batch")
    together = train_seeds(SIZES, (5, 11, 2), X, y, **kw)
    alone = train_seeds(SIZES, [11], X, y, **kw)
    np.testing.assert_array_equal(together.loss[1], alone.loss[0])
    assert len(together) == 3 and together.seeds == (5, 11, 2)


def test_model_is_a_usable_trained_network(digits):
    X, X_test, y, y_test = digits
    runs = train_seeds(
        SIZES,
        (0, 1),
        X,
        y,
        steps=100,
        batch_size=32,
        lr=0.1,
        normalization="batch",
        X_test=X_test,
        y_test=y_test,
    )
    model = runs.model(-1)
    assert model.accuracy(X_test, y_test) == runs.final_test_accuracy[1]
    model.forward(X[:8])  # still trainable: a forward pass in training mode works
    assert runs.model(0) is not runs.model(0)  # fresh copies
    with pytest.raises(IndexError):
        runs.model(2)
    with pytest.raises(TypeError, match="integer"):
        runs.model(0.5)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(seeds=[]), ValueError, "seeds must not be empty"),
        (dict(seeds=3), TypeError, "seeds must be a sequence"),
        (dict(seeds=[0, 0]), ValueError, "distinct"),
        (dict(seeds=[-1]), ValueError, "seeds must be >= 0"),
        (dict(seeds=[0.5]), TypeError, "seeds must hold integers"),
        (dict(steps=0), ValueError, "steps"),
        (dict(batch_size=2.5), TypeError, "batch_size"),
        (dict(batch_size=10**6), ValueError, "batch_size"),
        (dict(lr=-1.0), ValueError, "lr"),
        (dict(momentum=1.5), ValueError, "momentum"),
        (dict(bn_momentum=-0.1), ValueError, "bn_momentum"),
        (dict(activation="gelu"), ValueError, "activation"),
        (dict(normalization="instance"), ValueError, "normalization"),
        (dict(placement="middle"), ValueError, "placement"),
        (dict(eval_every=-1), ValueError, "eval_every"),
        (dict(divergence_threshold=0.0), ValueError, "divergence_threshold"),
        (dict(X=np.zeros((10, 5))), ValueError, r"X must be \(N, 64\) and y \(N,\), got \(10, 5\)"),
        (dict(y=np.zeros(3, dtype=int)), ValueError, r"and y \(N,\), got \(\d+, 64\) and \(3,\)"),
        (dict(y_test=np.zeros(3, dtype=int)), ValueError, r"X_test must be \(N, 64\) and y_test \(N,\)"),
        (dict(y_test=None), ValueError, "both X_test and y_test"),
        (dict(layer_sizes="64-10"), TypeError, "layer_sizes"),
        (dict(normalization="group", num_groups=5), ValueError, "num_groups"),
    ],
)
def test_bad_arguments_name_the_argument(digits, kwargs, error, match):
    X, X_test, y, y_test = digits
    args = dict(layer_sizes=SIZES, seeds=(0,), X=X, y=y)
    options = dict(steps=5, batch_size=16, lr=0.1, X_test=X_test, y_test=y_test)
    for key in list(kwargs):
        (args if key in args else options)[key] = kwargs[key]
    with pytest.raises(error, match=match):
        train_seeds(args["layer_sizes"], args["seeds"], args["X"], args["y"], **options)


def test_labels_out_of_range_are_refused(digits):
    X, _, y, _ = digits
    with pytest.raises(
        ValueError, match=r"train_seeds: y must hold integer class labels in \[0, 10\), got values from 10"
    ):
        train_seeds(SIZES, (0,), X, y + 10, steps=2, batch_size=8, lr=0.1)
    with pytest.raises(TypeError, match="train_seeds: y must hold integer class labels.*got dtype float64"):
        train_seeds(SIZES, (0,), X, y.astype(float), steps=2, batch_size=8, lr=0.1)
    with pytest.raises(ValueError, match=r"train_seeds: y_test must hold integer class labels in \[0, 10\)"):
        train_seeds(SIZES, (0,), X, y, steps=2, batch_size=8, lr=0.1, X_test=X[:5], y_test=np.full(5, 10))


def _noisy_hooks(lr):
    from course_utils.covariate_shift import ICSHook, ProbeInputHook
    from course_utils.training import GradNormHook, LayerInputHook

    return [
        GradNormHook(every=3),
        ICSHook(lr, layers=(1, 2), every=5),
        ProbeInputHook(5, np.linspace(-2, 2, 40 * 64).reshape(40, 64), every=4),
        LayerInputHook(4, lambda x: x.copy(), every=6),  # the training batch's input of a layer
    ]


@pytest.mark.parametrize("per_example_std", [0.0, 0.7])
@pytest.mark.parametrize("lr", [0.3, 5.0], ids=["steady", "some-diverge"])  # diverge: loss > 5
def test_noisy_batchnorm_with_hooks_equals_separate_runs(digits, per_example_std, lr):
    """NoisyBatchNorm (per-seed generators) via customize= and per-seed hooks via hooks=: every seed's
    loss, accuracies, final weights and every hook record equal a separate train() run bit for bit."""
    from course_utils.covariate_shift import add_noise, noisy_batchnorm_mlp

    X, X_test, y, y_test = digits
    seeds = (0, 3, 7)
    kw = dict(steps=30, batch_size=32, lr=lr, X_test=X_test, y_test=y_test, eval_every=10)
    kw["divergence_threshold"] = 5.0
    order = iter(seeds)
    hooks = [_noisy_hooks(lr) for _ in seeds]
    runs = train_seeds(
        SIZES,
        seeds,
        X,
        y,
        normalization="batch",
        customize=lambda m: add_noise(m, next(order), 1.0, 2.0, per_example_std),
        hooks=hooks,
        **kw,
    )
    for i, seed in enumerate(seeds):
        model = noisy_batchnorm_mlp(SIZES, seed=seed, per_example_std=per_example_std)
        loop_hooks = _noisy_hooks(lr)
        hist = train(model, X, y, seed=seed, hooks=loop_hooks, **kw)
        h = runs.history(i)
        assert (h.steps_taken, h.diverged) == (hist.steps_taken, hist.diverged)
        for name in ("loss", "batch_accuracy", "test_steps", "test_accuracy"):
            np.testing.assert_array_equal(getattr(h, name), getattr(hist, name))
        for mine, theirs in zip(runs.model(i).layers, model.layers, strict=True):  # model(i): no noise
            for name in theirs.params:
                np.testing.assert_array_equal(mine.params[name], theirs.params[name])
            if hasattr(theirs, "running_mean"):
                np.testing.assert_array_equal(mine.running_var, theirs.running_var)
        for mine, theirs in zip(hooks[i], loop_hooks, strict=True):
            assert mine.steps == theirs.steps
            for name in ("values", "l2", "cosine", "grad_norm"):
                if hasattr(theirs, name):
                    np.testing.assert_array_equal(getattr(mine, name), getattr(theirs, name))
    if lr > 1:
        assert runs.diverged.any() and not runs.diverged.all()


def test_hooks_need_one_sequence_per_seed(digits):
    X, _, y, _ = digits
    with pytest.raises(ValueError, match="one sequence of hooks per seed"):
        train_seeds(SIZES, (0, 1), X, y, steps=2, batch_size=8, lr=0.1, hooks=[[]])


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="keep_freed_memory acts on glibc only")
def test_stacked_training_does_not_page_fault_every_step(digits):
    """train_seeds reuses freed memory (training.keep_freed_memory): a refactor that only reordered
    allocations once made glibc return each step's 0.1-5 MB temporaries to the OS, 1,800 page faults per
    step with 10 seeds and 1.7x the run time. With the allocator settings it is a handful per step."""
    X, y = digits[0], digits[2]
    assert keep_freed_memory() is True
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    train_seeds(
        [64, 100, 100, 100, 10], range(10), X, y, normalization="batch", steps=200, batch_size=60, lr=0.1
    )
    faults_per_step = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 200
    assert faults_per_step < 100, faults_per_step
