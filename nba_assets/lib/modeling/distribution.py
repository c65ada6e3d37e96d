"""Predictive distributions for points and their calibration.

Points are modelled as Normal(mu, sigma(mu)) where sigma grows with the predicted level (residual
spread by bucket of mu, fitted on validation rows). P(over line) = 1 - Phi((line - mu) / sigma) for
half-point lines. A whole-point line can push: over wins from line + 1 on and under up to line - 1,
so with the continuity correction P(over) = 1 - Phi((line + 0.5 - mu) / sigma) and
P(under) = Phi((line - 0.5 - mu) / sigma), and the two leave out the push's mass between them.
The raw probability is then mapped through an isotonic calibration fitted on validation rows, at the
real consensus lines or realistic synthetic ones (the recent average rounded to the half point). On real
lines a Platt map (:func:`platt_map`, opt-in: ``ModelConfig.real_line_calibration``) can replace it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import expit, logit, ndtr


def normal_sf(z: np.ndarray) -> np.ndarray:
    """Survival function of the standard normal, vectorized."""
    return ndtr(-np.asarray(z, dtype=float))


@dataclass
class SigmaModel:
    """sigma(mu) = a + b * sqrt(max(mu, 0)), least squares on |residual| * sqrt(pi/2)."""

    a: float = 3.0
    b: float = 1.0

    @classmethod
    def fit(cls, mu: np.ndarray, actual: np.ndarray) -> SigmaModel:
        scale = np.abs(actual - mu) * math.sqrt(math.pi / 2)  # E|N(0,s)| = s*sqrt(2/pi)
        x = np.sqrt(np.clip(mu, 0, None))
        A = np.vstack([np.ones_like(x), x]).T
        (a, b), *_ = np.linalg.lstsq(A, scale, rcond=None)
        if a >= 0.5 and b >= 0.0:
            return cls(float(a), float(b))
        # a bound binds: the least-squares fit on it (clipping the unconstrained fit's b to 0 kept its
        # intercept, the spread extrapolated to mu = 0, not the rows' spread)
        flat = (max(float(np.mean(scale)), 0.5), 0.0) if scale.size else (0.5, 0.0)
        x2 = float(x @ x)
        floor = (0.5, max(float(x @ (scale - 0.5)) / x2, 0.0) if x2 > 0 else 0.0)
        return cls(*min(flat, floor, key=lambda ab: float(np.sum((scale - ab[0] - ab[1] * x) ** 2))))

    def __call__(self, mu: np.ndarray) -> np.ndarray:
        return np.maximum(self.a + self.b * np.sqrt(np.clip(mu, 0, None)), 1.0)


def raw_p_over(mu: np.ndarray, sigma: np.ndarray, line: np.ndarray) -> np.ndarray:
    # Over wins when actual >= floor(line) + 1; with a continuity correction the threshold is
    # floor(line) + 0.5, which for a half-point line is the line itself.
    threshold = np.floor(line) + 0.5
    return normal_sf((threshold - mu) / sigma)


def raw_p_under(mu: np.ndarray, sigma: np.ndarray, line: np.ndarray) -> np.ndarray:
    # Under wins when actual <= ceil(line) - 1: the threshold ceil(line) - 0.5 is the line itself for a
    # half-point line (there it is 1 - raw_p_over) and line - 0.5 for a whole-point line.
    threshold = np.ceil(line) - 0.5
    return ndtr((threshold - np.asarray(mu, dtype=float)) / sigma)


@dataclass
class Isotonic:
    """Pool-adjacent-violators isotonic regression of outcomes on raw probabilities."""

    x: list[float] = field(default_factory=lambda: [0.0, 1.0])
    y: list[float] = field(default_factory=lambda: [0.0, 1.0])

    @classmethod
    def fit(cls, p: np.ndarray, outcome: np.ndarray, bins: int = 200) -> Isotonic:
        order = np.argsort(p)
        p, o = p[order], outcome[order].astype(float)
        # pre-bin into equal-count bins to keep the step function small and stable
        chunks = np.array_split(np.arange(len(p)), min(bins, len(p)))
        xs = [float(p[c].mean()) for c in chunks if len(c)]
        ys = [float(o[c].mean()) for c in chunks if len(c)]
        ws = [float(len(c)) for c in chunks if len(c)]
        # PAV
        vals, wts, xsl = [], [], []
        for xv, yv, wv in zip(xs, ys, ws, strict=True):
            vals.append(yv)
            wts.append(wv)
            xsl.append([xv])
            while len(vals) > 1 and vals[-2] > vals[-1]:
                v = (vals[-2] * wts[-2] + vals[-1] * wts[-1]) / (wts[-2] + wts[-1])
                w = wts[-2] + wts[-1]
                xx = xsl[-2] + xsl[-1]
                vals[-2:], wts[-2:], xsl[-2:] = [v], [w], [xx]
        knots_x = [float(np.mean(x)) for x in xsl]
        return cls(
            [0.0, *knots_x, 1.0],
            [min(vals[0], 0.5) if vals else 0.0, *vals, max(vals[-1], 0.5) if vals else 1.0],
        )

    def __call__(self, p: np.ndarray) -> np.ndarray:
        return np.clip(np.interp(p, self.x, self.y), 0.01, 0.99)

    def shrunk(self, factor: float) -> Isotonic:
        """The same map pulled toward 0.5: y' = 0.5 + factor * (y - 0.5)."""
        return Isotonic(list(self.x), [0.5 + factor * (v - 0.5) for v in self.y])


PLATT_CLIP = 1e-6  # raw probabilities are clipped to [1e-6, 1 - 1e-6] before the logit
PLATT_RIDGE = 1e-3  # on a and b: a finite fit when the outcome is separated by the raw probability
PLATT_GRID = 200  # the map's knots: x = 0, 1/200, ..., 1


def _logit(p: np.ndarray) -> np.ndarray:
    return logit(np.clip(np.asarray(p, dtype=float), PLATT_CLIP, 1 - PLATT_CLIP))


def platt_fit(p: np.ndarray, outcome: np.ndarray, iterations: int = 50) -> tuple[float, float]:
    """(a, b) of P(outcome) = sigmoid(a + b * logit(p)) by maximum likelihood, with a tiny ridge
    (``PLATT_RIDGE`` * (a^2 + b^2) / 2): Newton steps, each halved until the penalized log-likelihood
    does not fall. Starts from the base rate (a = its logit, b = 0)."""
    z = _logit(p)
    y = np.asarray(outcome, dtype=float)
    if z.size == 0:
        return 0.0, 0.0
    design = np.column_stack([np.ones_like(z), z])
    beta = np.array([float(_logit(np.array([y.mean()]))[0]), 0.0])

    def penalized(b: np.ndarray) -> float:
        eta = design @ b
        # log-likelihood of a Bernoulli with logit eta: y * eta - log(1 + e^eta)
        return float(np.sum(y * eta - np.logaddexp(0.0, eta)) - PLATT_RIDGE * float(b @ b) / 2)

    current = penalized(beta)
    for _ in range(iterations):
        mu = expit(design @ beta)
        grad = design.T @ (y - mu) - PLATT_RIDGE * beta
        hess = design.T @ (design * (mu * (1 - mu))[:, None]) + PLATT_RIDGE * np.eye(2)
        step = np.linalg.solve(hess, grad)
        scale = 1.0
        while scale > 1e-8 and penalized(beta + scale * step) < current:
            scale /= 2
        if scale <= 1e-8:
            break
        beta = beta + scale * step
        current = penalized(beta)
        if float(np.max(np.abs(scale * step))) < 1e-10:
            break
    return float(beta[0]), float(beta[1])


def platt_knots(a: float, b: float, base_rate: float) -> Isotonic:
    """The Platt curve sigmoid(a + b * logit(x)) as the piecewise-linear map type, sampled at
    x = 0, 1/200, ..., 1 (the endpoints through the clipped logit). A negative slope says the higher
    the raw P(over), the rarer the over: a monotone map cannot follow that, and the isotonic fit on
    such rows pools them all into one block at the base rate; the Platt map does the same, a flat map
    at ``base_rate``, rather than serve a map that turns the model's calls around."""
    x = np.arange(PLATT_GRID + 1) / PLATT_GRID
    if b < 0:
        return Isotonic([0.0, 1.0], [float(base_rate), float(base_rate)])
    y = np.maximum.accumulate(expit(a + b * _logit(x)))  # non-decreasing in floats too
    return Isotonic([float(v) for v in x], [float(v) for v in y])


def platt_map(p: np.ndarray, outcome: np.ndarray) -> Isotonic:
    """Platt scaling of raw P(over): a logistic regression of the outcome on logit(p) (two
    parameters, :func:`platt_fit`), returned as an :class:`Isotonic` map (the same storage, ``shrunk``
    and serialization); flat at the base rate when the fitted slope is negative."""
    o = np.asarray(outcome, dtype=float)
    a, b = platt_fit(p, o)
    return platt_knots(a, b, float(o.mean()) if o.size else 0.5)


@dataclass
class Distribution:
    """One system's predictive distribution: its sigma by level and the isotonic map of its raw
    P(over) (None: the raw normal probability, for models stored before every system had one)."""

    sigma: SigmaModel
    calibration: Isotonic | None = None

    def _calibrated(self, p: np.ndarray) -> np.ndarray:
        return self.calibration(p) if self.calibration is not None else p

    def p_over(self, mu: np.ndarray, line: np.ndarray) -> np.ndarray:
        return self._calibrated(raw_p_over(mu, self.sigma(mu), line))

    def p_under(self, mu: np.ndarray, line: np.ndarray) -> np.ndarray:
        """The map is fitted on P(over); P(under) is read through it by symmetry, so on a half-point
        line it is exactly 1 - p_over and on a whole-point line it leaves out the push."""
        return 1.0 - self._calibrated(1.0 - raw_p_under(mu, self.sigma(mu), line))

    def to_json(self) -> dict[str, Any]:
        return {
            "sigma": {"a": self.sigma.a, "b": self.sigma.b},
            "calibration": {"x": self.calibration.x, "y": self.calibration.y} if self.calibration else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Distribution:
        cal = data.get("calibration")
        return cls(SigmaModel(**data["sigma"]), Isotonic(**cal) if cal else None)


def cross_fitted(
    p: np.ndarray,
    outcome: np.ndarray,
    groups: np.ndarray,
    folds: int,
    fit: Callable[[np.ndarray, np.ndarray], Isotonic] = Isotonic.fit,
) -> np.ndarray | None:
    """Out-of-sample calibrated probabilities of rows whose map was fitted on these same rows.

    An isotonic map is nearly perfectly calibrated on the rows it was fitted on, so its Brier score
    there flatters it. Here the distinct ``groups`` (game dates), in order, are cut into ``folds``
    contiguous blocks (fewer when there are fewer groups; one group's rows are never split); each
    block's rows get ``fit`` (the map as served: ``Isotonic.fit`` or it shrunk) fitted on the
    other blocks' rows. None when there are fewer than two groups."""
    keys, index = np.unique(np.asarray(groups), return_inverse=True)
    k = min(folds, len(keys))
    if k < 2:
        return None
    fold_of_group = np.zeros(len(keys), dtype=int)
    for i, block in enumerate(np.array_split(np.arange(len(keys)), k)):
        fold_of_group[block] = i
    fold = fold_of_group[index]
    out = np.empty(len(p), dtype=float)
    for i in range(k):
        held = fold == i
        out[held] = fit(p[~held], outcome[~held])(p[held])
    return out


def brier(p: np.ndarray, outcome: np.ndarray) -> float:
    return float(np.mean((p - outcome) ** 2))


def reliability_table(p: np.ndarray, outcome: np.ndarray, bins: int = 10) -> list[dict[str, str | float]]:
    """Per bin [k/bins, (k+1)/bins) of ``p`` (the last one closed, so p = 1.0 counts) holding rows:
    ``n``, the mean ``p`` and the hit rate. The edges are k / bins, the same doubles as the fractions
    an isotonic step takes (linspace's 3 * 0.1 = 0.30000000000000004 put p = 0.3 in the bin below)."""
    edges = np.arange(bins + 1) / bins
    rows: list[dict[str, str | float]] = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        m = (p >= lo) & (p < hi if hi < 1 else p <= hi)
        if m.sum():
            rows.append(
                {
                    "bin": f"{lo:.1f}-{hi:.1f}",
                    "n": int(m.sum()),
                    "mean_p": float(p[m].mean()),
                    "hit_rate": float(outcome[m].mean()),
                }
            )
    return rows
