"""Speed of course_utils' core: the reference workload, BN backward, training, seed-batched training.

Run ``python benchmarks/bench_core.py``. The functions are importable (benchmarks/run.py collects
them); each returns a dict of plain floats. Wall-clock times on a shared machine include other
people's load, so the training benchmark also reports the process CPU time (all threads), which is
what this code costs. Targets: compact >= 2x faster than staged; training <= 3 s.

The **reference workload** (issue 13, part 5) is the unit every time of ``make bench`` is also stated
in: this host's speed swings by ±40 % between runs, a ratio to a fixed job timed in the same run does
not. It is 1,500 forward/backward steps of a 64-100-100-100-10 sigmoid MLP with BatchNorm, batch 60,
plain NumPy, one BLAS thread, best of 3 — written out in full below and **never to be optimized or
changed** (it does not call course_utils, so speeding up the course does not move the yardstick).
"""

from __future__ import annotations

import statistics
import time

import numpy as np

import course_utils as cu

__all__ = ["reference_workload", "bench_bn_backward", "bench_training", "bench_seed_batching", "main"]


def _median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up (allocations, caches)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _reference_run(steps: int, batch_size: int, sizes: tuple, seed: int) -> float:
    """One run of the reference workload; returns the last batch loss (so nothing is optimized away)."""
    rng = np.random.default_rng(seed)
    n, n_classes = 1200, sizes[-1]
    X = rng.normal(size=(n, sizes[0]))
    y = rng.integers(0, n_classes, size=n)
    Ws = [rng.normal(0.0, 1.0 / np.sqrt(a), size=(a, b)) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    bs = [np.zeros(b) for b in sizes[1:]]
    gammas = [np.ones(h) for h in sizes[1:-1]]
    betas = [np.zeros(h) for h in sizes[1:-1]]
    lr, eps, per_epoch = 0.1, 1e-5, n // batch_size
    rows = np.arange(batch_size)
    order = rng.permutation(n)
    loss = 0.0
    for step in range(steps):
        if step % per_epoch == 0:
            order = rng.permutation(n)
        k = step % per_epoch
        idx = order[k * batch_size : (k + 1) * batch_size]
        h, yb = X[idx], y[idx]
        cache = []
        for W, b, g, beta in zip(Ws[:-1], bs[:-1], gammas, betas, strict=True):  # Linear -> BN -> sigmoid
            z = h @ W + b
            mu = z.mean(axis=0)
            zmu = z - mu
            inv_std = 1.0 / np.sqrt((zmu * zmu).mean(axis=0) + eps)
            z_hat = zmu * inv_std
            a = 1.0 / (1.0 + np.exp(-(g * z_hat + beta)))
            cache.append((h, z_hat, inv_std, a))
            h = a
        logits = h @ Ws[-1] + bs[-1]
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        loss = -np.log(p[rows, yb]).mean()
        p[rows, yb] -= 1.0
        dout = p / batch_size
        grads = [(h.T @ dout, dout.sum(axis=0))]
        dh = dout @ Ws[-1].T
        dnorm = []
        for i in range(len(cache) - 1, -1, -1):
            h_in, z_hat, inv_std, a = cache[i]
            da = dh * a * (1.0 - a)
            dgamma, dbeta = (da * z_hat).sum(axis=0), da.sum(axis=0)
            dz_hat = da * gammas[i]
            dz = inv_std * (dz_hat - dz_hat.mean(axis=0) - z_hat * (dz_hat * z_hat).mean(axis=0))
            grads.append((h_in.T @ dz, dz.sum(axis=0)))
            dnorm.append((dgamma, dbeta))
            if i:
                dh = dz @ Ws[i].T
        grads.reverse()
        dnorm.reverse()
        for W, b, (dW, db) in zip(Ws, bs, grads, strict=True):
            W -= lr * dW
            b -= lr * db
        for g, beta, (dg, dbeta) in zip(gammas, betas, dnorm, strict=True):
            g -= lr * dg
            beta -= lr * dbeta
    return float(loss)


def reference_workload(repeats: int = 3, steps: int = 1500, batch_size: int = 60, seed: int = 0) -> dict:
    """Time the fixed reference workload: best of ``repeats`` runs, one BLAS thread.

    1,500 forward/backward steps (with SGD updates) of a 64-100-100-100-10 sigmoid MLP with
    training-mode BatchNorm in every hidden layer, batch 60, softmax cross-entropy, on a fixed random
    data set (1200 x 64, 10 classes). Returns ``seconds`` (the best run), ``runs`` (every run, s) and
    ``last_loss`` (a checksum of the computation).
    """
    times = []
    loss = float("nan")
    with cu.training.single_blas_thread():
        for _ in range(repeats):
            start = time.perf_counter()
            loss = _reference_run(steps, batch_size, (64, 100, 100, 100, 10), seed)
            times.append(time.perf_counter() - start)
    return {"seconds": min(times), "runs": times, "last_loss": loss, "steps": steps}


def bench_bn_backward(N: int = 256, D: int = 1024, repeats: int = 50, seed: int = 0) -> dict:
    """Median time of :func:`cu.batchnorm_backward` and :func:`cu.batchnorm_backward_staged`.

    Both run on the same float64 cache; the two are timed interleaved in rounds so that a burst of
    load from elsewhere hits both alike. Returns ``compact_ms``, ``staged_ms`` and
    ``ratio = staged / compact`` (the issue requires >= 2), plus the largest difference between them.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, D))
    gamma, beta = rng.uniform(0.5, 2.0, D), rng.normal(size=D)
    _, cache = cu.batchnorm_forward(x, gamma, beta)
    dout = rng.normal(size=(N, D))
    compact, staged = [], []
    for _ in range(5):
        compact.append(_median_seconds(lambda: cu.batchnorm_backward(dout, cache), repeats // 5))
        staged.append(_median_seconds(lambda: cu.batchnorm_backward_staged(dout, cache), repeats // 5))
    t_compact, t_staged = statistics.median(compact), statistics.median(staged)
    dx_c = cu.batchnorm_backward(dout, cache)[0]
    dx_s = cu.batchnorm_backward_staged(dout, cache)[0]
    return {
        "shape": (N, D),
        "compact_ms": 1e3 * t_compact,
        "staged_ms": 1e3 * t_staged,
        "ratio": t_staged / t_compact,
        "max_abs_difference": float(np.max(np.abs(dx_c - dx_s))),
    }


def bench_training(
    steps: int = 3000,
    batch_size: int = 60,
    layer_sizes=(64, 100, 100, 100, 10),
    activation: str = "sigmoid",
    normalization: str = "batch",
    lr: float = 0.1,
    seed: int = 0,
    repeats: int = 1,
) -> dict:
    """Train an MLP on the digits (the issue's benchmark: 64-100-100-100-10 sigmoid + BN, 3000 SGD
    steps of batch 60) and time it.

    Returns ``seconds`` (median wall time over ``repeats`` runs), ``cpu_seconds`` (process CPU time of
    the same runs, median), ``final_loss`` (mean of the last 100 batch losses) and ``test_accuracy``.
    Data loading and model construction are not timed.
    """
    X_train, X_test, y_train, y_test = cu.data.load_digits_split(seed=seed)
    walls, cpus = [], []
    for _ in range(repeats):
        model = cu.training.MLP(list(layer_sizes), activation, normalization, seed=seed)
        wall, cpu = time.perf_counter(), time.process_time()
        hist = cu.training.train(
            model, X_train, y_train, steps=steps, batch_size=batch_size, lr=lr, seed=seed
        )
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return {
        "steps": steps,
        "seconds": statistics.median(walls),
        "cpu_seconds": statistics.median(cpus),
        "final_loss": float(hist.loss[-100:].mean()),
        "test_accuracy": model.accuracy(X_test, y_test),
    }


def bench_seed_batching(
    steps: int = 1500,
    n_seeds: int = 10,
    repeats: int = 2,
    layer_sizes=(64, 100, 100, 100, 10),
    batch_size: int = 60,
    lr: float = 0.1,
) -> dict:
    """Seed-batched training (:func:`course_utils.batched.train_seeds`) against ``train()`` (issue 13).

    The issue's job: ``steps`` SGD steps of a 64-100-100-100-10 sigmoid MLP with BN, batch 60, on the
    digits. Times (best of ``repeats``, runs interleaved so a burst of load hits all alike): one seed
    with ``train()`` (``train_1_s``), one seed and ``n_seeds`` seeds with ``train_seeds``
    (``batched_1_s``, ``batched_n_s``). Ratios: ``ratio_n_to_1`` = batched_n / batched_1 (goal ≤ 2.5 at
    10 seeds), ``ratio_n_to_train`` = batched_n / train_1, and ``per_seed_speedup`` =
    n · train_1 / batched_n, the saving per seed over a loop of ``train()`` (goal ≥ 4).
    """
    X_train, _, y_train, _ = cu.data.load_digits_split(seed=0)
    sizes = list(layer_sizes)
    kw = dict(steps=steps, batch_size=batch_size, lr=lr)

    def one_train():
        model = cu.training.MLP(sizes, "sigmoid", "batch", seed=0)
        start = time.perf_counter()
        cu.training.train(model, X_train, y_train, seed=0, **kw)
        return time.perf_counter() - start

    def batched(n):
        start = time.perf_counter()
        cu.batched.train_seeds(sizes, range(n), X_train, y_train, normalization="batch", **kw)
        return time.perf_counter() - start

    t_train, t_one, t_many = [], [], []
    for _ in range(repeats):
        t_train.append(one_train())
        t_one.append(batched(1))
        t_many.append(batched(n_seeds))
    train_1, batched_1, batched_n = min(t_train), min(t_one), min(t_many)
    return {
        "steps": steps,
        "n_seeds": n_seeds,
        "train_1_s": train_1,
        "batched_1_s": batched_1,
        "batched_n_s": batched_n,
        "ratio_n_to_1": batched_n / batched_1,
        "ratio_n_to_train": batched_n / train_1,
        "per_seed_speedup": n_seeds * train_1 / batched_n,
    }


def main() -> None:
    ref = reference_workload()
    print(
        f"reference workload (1500 steps, 64-100-100-100-10 sigmoid + BN, batch 60, NumPy, 1 BLAS thread): "
        f"{ref['seconds']:.2f} s (best of {len(ref['runs'])}: {', '.join(f'{t:.2f}' for t in ref['runs'])})"
    )
    bn = bench_bn_backward()
    print(
        f"BN backward on {bn['shape']} float64 (median): compact {bn['compact_ms']:.2f} ms, "
        f"staged {bn['staged_ms']:.2f} ms -> compact is {bn['ratio']:.1f}x faster "
        f"(target >= 2x; max |difference| {bn['max_abs_difference']:.1e})"
    )
    tr = bench_training(repeats=3)
    print(
        f"3000 SGD steps, 64-100-100-100-10 sigmoid MLP + BN, batch 60 on digits: "
        f"{tr['seconds']:.2f} s wall, {tr['cpu_seconds']:.2f} s CPU (median of 3; target <= 3 s); "
        f"final loss {tr['final_loss']:.3f}, test accuracy {tr['test_accuracy']:.3f}"
    )
    sb = bench_seed_batching()
    print(
        f"seed batching, {sb['steps']} steps: train() 1 seed {sb['train_1_s']:.2f} s, train_seeds 1 seed "
        f"{sb['batched_1_s']:.2f} s, {sb['n_seeds']} seeds {sb['batched_n_s']:.2f} s -> "
        f"{sb['ratio_n_to_1']:.2f}x one seed (goal <= 2.5), {sb['per_seed_speedup']:.2f}x cheaper per seed "
        f"than a loop of train() (goal >= 4)"
    )


if __name__ == "__main__":
    main()
