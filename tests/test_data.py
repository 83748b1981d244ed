"""Tests of course_utils.data: the digits split, standardize, PCA/ZCA whitening, mini-batches."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from course_utils.data import (
    iterate_minibatches,
    load_digits_split,
    pca_whiten,
    standardize,
    whitening_matrix,
    zca_whiten,
)


@pytest.fixture(scope="module")
def raw_split():
    return load_digits_split(test_fraction=0.25, seed=0, scale="raw")


def test_split_shapes_types_and_partition(raw_split):
    X_train, X_test, y_train, y_test = raw_split
    assert X_train.shape == (1347, 64) and X_test.shape == (450, 64)
    assert X_train.dtype == np.float64 and y_train.dtype.kind == "i"
    assert y_train.shape == (1347,) and y_test.shape == (450,)
    from sklearn.datasets import load_digits

    digits = load_digits()
    # train + test is exactly the data set (as a multiset of (image, label) rows)
    both = np.concatenate([np.column_stack([X_train, y_train]), np.column_stack([X_test, y_test])])
    every = np.column_stack([digits.data, digits.target])
    np.testing.assert_array_equal(
        np.unique(both, axis=0, return_counts=True)[1], np.unique(every, axis=0, return_counts=True)[1]
    )
    np.testing.assert_array_equal(np.unique(both, axis=0), np.unique(every, axis=0))
    assert X_train.min() == 0 and X_train.max() == 16


def test_split_is_stratified(raw_split):
    _, _, y_train, y_test = raw_split
    counts_all = np.bincount(np.concatenate([y_train, y_test]), minlength=10)
    counts_test = np.bincount(y_test, minlength=10)
    assert np.all(np.abs(counts_test - 0.25 * counts_all) <= 1)
    _, _, _, y_small = load_digits_split(test_fraction=0.1, seed=5)
    assert np.all(np.abs(np.bincount(y_small, minlength=10) - 0.1 * counts_all) <= 1)


def test_split_is_seeded():
    a = load_digits_split(seed=1)
    b = load_digits_split(seed=1)
    c = load_digits_split(seed=2)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[2], c[2])


def test_split_scalings(raw_split):
    X_train_raw, X_test_raw, _, _ = raw_split
    X_train, X_test, _, _ = load_digits_split(test_fraction=0.25, seed=0, scale="standardize")
    mean, std = X_train_raw.mean(axis=0), X_train_raw.std(axis=0)
    live = std > 0
    np.testing.assert_allclose(X_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(X_train.std(axis=0)[live], 1, rtol=1e-12)
    np.testing.assert_array_equal(X_train[:, ~live], 0.0)  # constant pixels are centred, not divided by 0
    assert (~live).sum() >= 1
    # the test set uses the *training* statistics
    np.testing.assert_allclose(
        X_test[:, live], ((X_test_raw - mean) / np.where(live, std, 1))[:, live], rtol=1e-13
    )
    X_unit = load_digits_split(test_fraction=0.25, seed=0, scale="unit")[0]
    np.testing.assert_allclose(X_unit, X_train_raw / 16)
    with pytest.raises(ValueError, match="scale"):
        load_digits_split(scale="minmax")
    with pytest.raises(ValueError, match="test_fraction"):
        load_digits_split(test_fraction=1.0)


def test_standardize():
    rng = np.random.default_rng(0)
    X = rng.normal(5.0, 3.0, size=(200, 4))
    X[:, 2] = 7.0
    X_before = X.copy()
    Z = standardize(X)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-13)
    np.testing.assert_allclose(Z.std(axis=0)[[0, 1, 3]], 1, rtol=1e-13)
    np.testing.assert_array_equal(Z[:, 2], 0.0)
    mean, std = np.arange(4.0), np.array([1.0, 2.0, 0.0, 4.0])
    np.testing.assert_allclose(standardize(X, mean, std), (X - mean) / np.array([1, 2, 1, 4]))
    with pytest.raises(ValueError, match="mean and std must have shape"):
        standardize(X, mean[:3], std)
    with pytest.raises(ValueError, match=r"X must have shape \(n, D\)"):
        standardize(X[0])


@pytest.fixture(scope="module")
def correlated():
    """Strongly correlated data whose covariance has eigenvalues between ~0.5 and ~1e4.

    (whitening_matrix adds eps = 1e-10 to the eigenvalues, so the whitened covariance is
    lambda / (lambda + eps): identity to 1e-8 needs lambda_min >> 1e-2.)
    """
    rng = np.random.default_rng(1)
    Q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    A = np.diag([100.0, 30.0, 10.0, 3.0, 1.0, 0.7]) @ Q
    return rng.normal(size=(500, 6)) @ A + rng.normal(size=6) * 4


@pytest.mark.parametrize("whiten", [pca_whiten, zca_whiten])
def test_whitening_gives_identity_covariance(correlated, whiten):
    X_before = correlated.copy()
    Z = whiten(correlated)
    np.testing.assert_array_equal(correlated, X_before)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    cov = Z.T @ Z / Z.shape[0]
    np.testing.assert_allclose(cov, np.eye(6), atol=1e-8)
    cov_in = np.cov(correlated, rowvar=False)
    assert np.abs(cov_in - np.diag(np.diag(cov_in))).max() > 1  # the input really was correlated


def test_zca_is_symmetric_and_closest_to_the_input(correlated):
    W_zca, mean = whitening_matrix(correlated, "zca")
    W_pca, _ = whitening_matrix(correlated, "pca")
    np.testing.assert_allclose(W_zca, W_zca.T, rtol=1e-10, atol=1e-12)
    assert np.abs(W_pca - W_pca.T).max() > 1e-3  # PCA whitening is not symmetric
    np.testing.assert_allclose(mean, correlated.mean(axis=0), rtol=1e-14)
    # ZCA = PCA rotated back: W_zca = W_pca @ U.T for the orthogonal U of the eigenvectors
    U = W_pca * np.sqrt(np.sum(W_pca**2, axis=0, keepdims=True)) / np.sum(W_pca**2, axis=0, keepdims=True)
    U /= np.linalg.norm(U, axis=0)
    np.testing.assert_allclose(U.T @ U, np.eye(6), atol=1e-10)
    np.testing.assert_allclose(W_pca @ U.T, W_zca, atol=1e-10 * np.abs(W_zca).max())
    # of all whitenings, ZCA moves the (centred) data least
    Xc = correlated - mean
    assert np.linalg.norm(Xc @ W_zca - Xc) < np.linalg.norm(Xc @ W_pca - Xc)


def test_whitening_bad_input(correlated):
    with pytest.raises(ValueError, match="kind"):
        whitening_matrix(correlated, "svd")
    with pytest.raises(ValueError, match=r"X must have shape \(n >= 2, D\)"):
        whitening_matrix(correlated[:1])


def test_minibatches_are_seeded_and_cover_each_epoch():
    n, bs = 60, 12
    a = list(itertools.islice(iterate_minibatches(n, bs, seed=3), 15))
    b = list(itertools.islice(iterate_minibatches(n, bs, seed=3), 15))
    c = list(itertools.islice(iterate_minibatches(n, bs, seed=4), 15))
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    assert any(not np.array_equal(u, v) for u, v in zip(a, c, strict=True))
    assert all(batch.shape == (bs,) for batch in a)
    epochs = [np.concatenate(a[k : k + 5]) for k in (0, 5, 10)]
    for epoch in epochs:
        np.testing.assert_array_equal(np.sort(epoch), np.arange(n))  # each epoch is a permutation
    assert not np.array_equal(epochs[0], epochs[1])  # reshuffled every epoch


def test_minibatches_drop_the_remainder_and_unshuffled_order():
    n, bs = 50, 12  # 4 full batches per epoch, 2 examples left out (a different 2 each epoch)
    batches = list(itertools.islice(iterate_minibatches(n, bs, seed=0), 8))
    assert all(len(batch) == bs for batch in batches)
    for k in (0, 4):
        epoch = np.concatenate(batches[k : k + 4])
        assert len(np.unique(epoch)) == 48
    ordered = list(itertools.islice(iterate_minibatches(10, 5, shuffle=False), 3))
    np.testing.assert_array_equal(np.concatenate(ordered), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4])
    with pytest.raises(ValueError, match="batch_size=11 exceeds the n=10"):
        next(iterate_minibatches(10, 11))
    with pytest.raises(ValueError, match="batch_size"):
        next(iterate_minibatches(10, 0))
