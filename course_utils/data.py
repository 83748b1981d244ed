"""Data for the course: scikit-learn's bundled 8×8 digits (no download), splits, scaling, whitening.

``load_digits`` reads the copy of the UCI digits that ships inside scikit-learn, so the course runs
offline. Whitening uses :func:`numpy.linalg.eigh` on the covariance matrix.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_real_array, check_in_range, check_positive_int

__all__ = [
    "load_digits_split",
    "standardize",
    "whitening_matrix",
    "pca_whiten",
    "zca_whiten",
    "iterate_minibatches",
]


def load_digits_split(test_fraction: float = 0.25, seed: int = 0, scale: str = "standardize"):
    """The 1797 digits images as a seeded, stratified train/test split.

    Parameters
    ----------
    test_fraction : float in (0, 1)
    seed : int
        Seeds the split.
    scale : {"standardize", "unit", "raw"}
        ``"standardize"``: z-score each pixel with the *training* mean and std (constant pixels are
        left centred, not divided by zero); ``"unit"``: pixel values / 16 in [0, 1]; ``"raw"``: 0..16.

    Returns
    -------
    X_train : ndarray, shape (n_train, 64), float64
    X_test : ndarray, shape (n_test, 64), float64
    y_train, y_test : ndarray of int, shape (n_train,), (n_test,)
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    check_in_range(test_fraction, "test_fraction", "load_digits_split", 1e-9, 1 - 1e-9)
    if scale not in ("standardize", "unit", "raw"):
        raise ValueError(f"load_digits_split: scale must be 'standardize', 'unit' or 'raw', got {scale!r}")
    digits = load_digits()
    X, y = digits.data.astype(np.float64), digits.target.astype(np.int64)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_fraction, random_state=seed, stratify=y
    )
    if scale == "unit":
        X_train, X_test = X_train / 16.0, X_test / 16.0
    elif scale == "standardize":
        mean, std = X_train.mean(axis=0), X_train.std(axis=0)
        X_train, X_test = standardize(X_train, mean, std), standardize(X_test, mean, std)
    return X_train, X_test, y_train, y_test


def standardize(X, mean=None, std=None):
    """z-score each column: ``(X - mean) / std``.

    Parameters
    ----------
    X : ndarray, shape (n, D)
    mean, std : ndarray, shape (D,), optional
        Statistics to use (e.g. the training set's, applied to the test set); computed from ``X``
        when omitted (``std`` is the biased one, ``ddof=0``). Columns whose std is 0 are only centred.

    Returns
    -------
    Z : ndarray, shape (n, D)
    """
    X = as_real_array(X, "X", "standardize")
    if X.ndim != 2:
        raise ValueError(f"standardize: X must have shape (n, D), got {X.shape}")
    mean = X.mean(axis=0) if mean is None else as_real_array(mean, "mean", "standardize")
    std = X.std(axis=0) if std is None else as_real_array(std, "std", "standardize")
    if mean.shape != (X.shape[1],) or std.shape != (X.shape[1],):
        raise ValueError(
            f"standardize: mean and std must have shape ({X.shape[1]},), got {mean.shape} and {std.shape}"
        )
    return (X - mean) / np.where(std > 0, std, 1.0)


def whitening_matrix(X, kind: str = "zca", eps: float = 1e-10):
    r"""Matrix ``W`` with ``cov((X - mean) @ W) = I``, from the eigendecomposition ``Σ = U Λ Uᵀ``.

    PCA whitening: :math:`W = U\Lambda^{-1/2}` (rotate onto the principal axes, then rescale).
    ZCA whitening: :math:`W = U\Lambda^{-1/2}U^\top` (the same, rotated back: the whitened data stay
    as close as possible to the original, which is why ZCA-whitened images still look like images).

    Parameters
    ----------
    X : ndarray, shape (n, D)
    kind : {"pca", "zca"}
    eps : float ≥ 0, default 1e-10
        Added to the eigenvalues so that directions of (near) zero variance do not blow up. With
        ``eps=0`` the covariance must have full numerical rank (every eigenvalue above
        ``D · machine-eps · λ_max``, NumPy's ``matrix_rank`` rule); otherwise a ValueError says so
        instead of returning inf/NaN.

    Returns
    -------
    W : ndarray, shape (D, D)
    mean : ndarray, shape (D,)
    """
    X = as_real_array(X, "X", "whitening_matrix")
    if X.ndim != 2 or X.shape[0] < 2:
        raise ValueError(f"whitening_matrix: X must have shape (n >= 2, D), got {X.shape}")
    if kind not in ("pca", "zca"):
        raise ValueError(f"whitening_matrix: kind must be 'pca' or 'zca', got {kind!r}")
    eps = check_in_range(eps, "eps", "whitening_matrix", 0.0, np.inf)
    mean = X.mean(axis=0)
    Xc = X - mean
    cov = Xc.T @ Xc / X.shape[0]
    eigvals, U = np.linalg.eigh(cov)
    eigvals = np.maximum(eigvals, 0.0)
    tol = eigvals.max(initial=0.0) * X.shape[1] * np.finfo(eigvals.dtype).eps
    if eps <= tol and np.any(eigvals <= tol):
        rank = int(np.sum(eigvals > tol))
        raise ValueError(
            f"whitening_matrix: the covariance of X (shape {X.shape}) has numerical rank {rank} < "
            f"D={X.shape[1]} (smallest eigenvalue {eigvals.min():.3g}), so with eps={eps} the whitening "
            "matrix Λ^(-1/2) is infinite; use eps > 0 (default 1e-10) or drop the dependent columns"
        )
    W = U / np.sqrt(eigvals + eps)
    if kind == "zca":
        W = W @ U.T
    return W, mean


def pca_whiten(X, eps: float = 1e-10):
    """PCA-whitened copy of ``X`` (shape (n, D)): centred, decorrelated, unit variance."""
    W, mean = whitening_matrix(X, "pca", eps)
    return (np.asarray(X, dtype=float) - mean) @ W


def zca_whiten(X, eps: float = 1e-10):
    """ZCA-whitened copy of ``X`` (shape (n, D)): like PCA whitening, rotated back to the input axes."""
    W, mean = whitening_matrix(X, "zca", eps)
    return (np.asarray(X, dtype=float) - mean) @ W


def iterate_minibatches(n: int, batch_size: int, seed: int = 0, shuffle: bool = True):
    """Yield index arrays of mini-batches forever, epoch after epoch.

    Each epoch is a fresh seeded permutation of ``range(n)`` cut into batches of ``batch_size``;
    the last, smaller batch of an epoch is dropped so every batch has the same size (BatchNorm's
    statistics then mean the same thing at every step).

    Parameters
    ----------
    n : int
        Number of examples.
    batch_size : int, ≤ n
    seed : int
    shuffle : bool
        False gives the batches in order (useful for debugging).

    Yields
    ------
    idx : ndarray of int, shape (batch_size,)
    """
    n = check_positive_int(n, "n", "iterate_minibatches")
    batch_size = check_positive_int(batch_size, "batch_size", "iterate_minibatches")
    if batch_size > n:
        raise ValueError(f"iterate_minibatches: batch_size={batch_size} exceeds the n={n} examples")
    rng = np.random.default_rng(seed)
    per_epoch = n // batch_size
    while True:
        order = rng.permutation(n) if shuffle else np.arange(n)
        for k in range(per_epoch):
            yield order[k * batch_size : (k + 1) * batch_size]
