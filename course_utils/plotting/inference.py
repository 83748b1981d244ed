"""Figures for notebook 07 (train vs inference). Every function returns the Figure it drew.

Figures are made with :func:`~course_utils.plotting.style.new_figure` (Agg, outside pyplot); show them
with :func:`~course_utils.plotting.style.show`.
"""

from __future__ import annotations

import numpy as np

from .style import COLORS, new_figure

__all__ = [
    "plot_accuracy_by_statistics",
    "plot_probe_in_batches",
    "plot_ema_chase",
]


def plot_accuracy_by_statistics(labels, accuracies, colors=None, title=None):
    """Test accuracy (mean ± std over seeds, and each seed as a dot) for each kind of BN statistics.

    Parameters
    ----------
    labels : sequence of str, length K
    accuracies : ndarray, shape (n_seeds, K), in [0, 1]
    colors : sequence of K colours, optional
    """
    acc = 100 * np.asarray(accuracies, dtype=float)
    if acc.ndim != 2 or acc.shape[1] != len(labels):
        raise ValueError(
            f"plot_accuracy_by_statistics: accuracies must be (n_seeds, {len(labels)}), got {acc.shape}"
        )
    colors = list(colors) if colors is not None else [COLORS["bn"]] * len(labels)
    fig, ax = new_figure(figsize=(7.4, 0.45 * len(labels) + 1.3))
    y = np.arange(len(labels))[::-1]
    ax.barh(y, acc.mean(axis=0), xerr=acc.std(axis=0), color=colors, alpha=0.75, capsize=3)
    for k in range(len(labels)):
        ax.plot(acc[:, k], np.full(acc.shape[0], y[k]), "o", color=COLORS["black"], ms=3, alpha=0.7)
    ax.set_yticks(y, labels)
    ax.set_xlim(0, 100)
    ax.set_xlabel(f"test accuracy (%), mean ± std over {acc.shape[0]} seeds (dots: each seed)")
    ax.set_title(
        title or "Fixed statistics all give ~97 %;\nbatch statistics fail for small or sorted test batches"
    )
    ax.grid(axis="y", visible=False)
    return fig


def plot_probe_in_batches(
    probs_by_size: dict, true_class: int, eval_prob: float, same_class_probs, image=None, same_class_pred=None
):
    """How one test image's predicted probability depends on the batch it is normalized with.

    Parameters
    ----------
    probs_by_size : dict int -> ndarray (n_batches, n_classes)
        Probabilities of the image inside random batches of each size (batch statistics).
    true_class : int
    eval_prob : float
        Its probability of the true class in eval mode (running statistics) — one number.
    same_class_probs : ndarray, shape (n_classes,)
        Its probability of the true class when all its companions are digits of class k.
    image : ndarray, shape (64,) or (8, 8), optional
        The digit, drawn in a small panel on the left.
    same_class_pred : ndarray of int, shape (n_classes,), optional
        The predicted class in each of those batches, written above the bars.
    """
    fig, (ax0, ax1, ax2) = new_figure(1, 3, figsize=(10.0, 3.8), gridspec_kw={"width_ratios": [0.3, 1.2, 1]})
    if image is not None:
        ax0.imshow(np.asarray(image).reshape(8, 8), cmap="gray_r")
        ax0.set_title(f"test image\n(a {true_class})", fontsize=9)
    ax0.set_xticks([])
    ax0.set_yticks([])
    ax0.grid(False)
    for spine in ax0.spines.values():
        spine.set_visible(False)
    rng = np.random.default_rng(0)  # jitter only
    sizes = list(probs_by_size)
    for k, size in enumerate(sizes):
        p = np.asarray(probs_by_size[size])[:, true_class]
        ax1.plot(k + rng.uniform(-0.25, 0.25, len(p)), p, "o", ms=2.5, alpha=0.45, color=COLORS["plain"])
        wrong = np.mean(np.asarray(probs_by_size[size]).argmax(axis=1) != true_class)
        ax1.text(k, 1.05, f"wrong {100 * wrong:.0f}%", ha="center", fontsize=8)
    ax1.axhline(eval_prob, color=COLORS["bn"], lw=2, label=f"eval mode, any batch: P = {eval_prob:.2f}")
    ax1.set_xticks(range(len(sizes)), [str(s) for s in sizes])
    ax1.set_xlabel("size of the random batch it is in")
    ax1.set_ylabel(f"P(class {true_class}) for this image")
    ax1.set_ylim(-0.02, 1.3)
    ax1.set_yticks(np.linspace(0, 1, 6))
    ax1.legend(loc="upper left", fontsize=8)
    ax1.set_title("Batch statistics: the answer depends on the neighbours")
    n_classes = len(same_class_probs)
    colors = [COLORS["vermillion"] if c == true_class else COLORS["grey"] for c in range(n_classes)]
    ax2.bar(range(n_classes), same_class_probs, color=colors)
    ax2.axhline(eval_prob, color=COLORS["bn"], lw=2)
    ax2.set_xticks(range(n_classes))
    ax2.set_xlabel("class of all 7 other images in its batch of 8")
    ax2.set_ylabel(f"P(class {true_class})")
    ax2.set_ylim(0, 1.3)
    ax2.set_yticks(np.linspace(0, 1, 6))
    if same_class_pred is not None:
        for c, pred in enumerate(same_class_pred):
            ax2.text(c, same_class_probs[c] + 0.03, f"→{pred}", ha="center", fontsize=7)
        ax2.text(0.0, 1.2, "→k: class predicted for the image", fontsize=8)
    ax2.set_title(f"Among other {true_class}s it stops being a {true_class}")
    ax2.grid(axis="x", visible=False)
    return fig


def plot_ema_chase(true_mean, batch_means, momenta, ema_fn):
    """Static version of the momentum slider: the running mean for a few PyTorch momenta.

    ``ema_fn(batch_means, momentum)`` returns the running mean after each step.
    """
    fig, ax = new_figure(figsize=(8.0, 3.8))
    steps = np.arange(len(true_mean))
    ax.plot(steps, batch_means, ".", color=COLORS["grey"], ms=3, label="batch mean")
    ax.plot(steps, true_mean, color=COLORS["black"], lw=2, label="true mean")
    palette = [COLORS["orange"], COLORS["bn"], COLORS["vermillion"], COLORS["green"]]
    for color, momentum in zip(palette, momenta, strict=False):
        ax.plot(
            steps, ema_fn(batch_means, momentum), color=color, lw=1.8, label=f"running, momentum={momentum:g}"
        )
    ax.set_xlabel("training step")
    ax.set_ylabel("mean of one channel")
    ax.set_title("Small momentum lags behind the drift, large momentum copies the noise")
    ax.legend(loc="upper left", fontsize=8, ncols=2)
    return fig
