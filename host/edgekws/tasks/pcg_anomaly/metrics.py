"""Anomaly scores of a window's latent statistics and the ROC AUC they reach, with a bootstrap interval.

Scores (higher = more anomalous), each a record's mean over its windows:

* ``reconstruction``: mean squared error of the window and its reconstruction from
  the latent mean (the score the anchor paper finds best);
* ``kl``: KL divergence of the encoder's posterior from the N(0, I) prior;
* ``mahalanobis``: squared Mahalanobis distance of the latent mean under a Gaussian
  fitted to the *training* windows' latent means (ridge-regularised covariance).

AUC is scikit-learn's ``roc_auc_score`` (ties count one half); the interval
resamples normal and abnormal records separately (a stratified bootstrap keeps
both classes in every draw, which an AUC needs).
"""

from __future__ import annotations

import numpy as np

#: Added to the latent covariance's diagonal: a collapsed latent dimension (beta large) has ~0 variance.
RIDGE = 1e-3


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC of ``scores`` for ``labels`` (1 = abnormal, 0 = normal)."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(np.asarray(labels, int), np.asarray(scores, float)))


def roc(labels: np.ndarray, scores: np.ndarray) -> tuple[list[float], list[float]]:
    """``(fpr, tpr)`` of the ROC curve (scikit-learn's ``roc_curve``, collinear points dropped)."""
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(np.asarray(labels, int), np.asarray(scores, float))
    return [float(v) for v in fpr], [float(v) for v in tpr]


def bootstrap_auc_ci(labels: np.ndarray, scores: np.ndarray, draws: int, seed: int) -> tuple[float, float]:
    """Stratified bootstrap 95 % interval of the AUC (``draws`` resamples; the point value twice if 0)."""
    y = np.asarray(labels, int)
    s = np.asarray(scores, float)
    if draws == 0:
        a = auc(y, s)
        return a, a
    pos, neg = s[y == 1], s[y == 0]
    rng = np.random.default_rng([seed, 97])
    vals = np.empty(draws)
    for i in range(draws):
        p = rng.choice(pos, len(pos))
        n = rng.choice(neg, len(neg))
        # Mann-Whitney form of the AUC (== roc_auc_score) on the resample: numpy, 10^3 draws in milliseconds
        vals[i] = (np.sum(p[:, None] > n[None, :]) + 0.5 * np.sum(p[:, None] == n[None, :])) / (len(p) * len(n))
    lo, hi = np.percentile(vals, [2.5, 97.5])
    return float(lo), float(hi)


def kl_to_prior(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    return 0.5 * np.sum(mu ** 2 + np.exp(logvar) - 1.0 - logvar, axis=1)


def gaussian_fit(mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and ridge-regularised covariance of the training windows' latent means."""
    m = mu.mean(0)
    cov = np.atleast_2d(np.cov(mu, rowvar=False)) + RIDGE * np.eye(mu.shape[1])
    return m, cov


def mahalanobis(mu: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    d = mu - mean
    return np.einsum("ij,ij->i", d, np.linalg.solve(cov, d.T).T)


def window_scores(x: np.ndarray, mu: np.ndarray, logvar: np.ndarray, x_hat: np.ndarray, mean: np.ndarray,
                  cov: np.ndarray) -> dict[str, np.ndarray]:
    """The three scores of every window."""
    return {"reconstruction": np.mean((x - x_hat) ** 2, axis=1), "kl": kl_to_prior(mu, logvar),
            "mahalanobis": mahalanobis(mu, mean, cov)}
