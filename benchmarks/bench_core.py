"""Speed of course_utils' core (issue 2): BN backward compact vs staged, and a 3000-step training run.

Run ``python benchmarks/bench_core.py``. The functions are importable (benchmarks/run.py collects
them); each returns a dict of plain floats. Wall-clock times on a shared machine include other
people's load, so the training benchmark also reports the process CPU time (all threads), which is
what this code costs. Targets: compact >= 2x faster than staged; training <= 3 s.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

import course_utils as cu

__all__ = ["bench_bn_backward", "bench_training", "main"]


def _median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up (allocations, caches)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


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


def main() -> None:
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


if __name__ == "__main__":
    main()
