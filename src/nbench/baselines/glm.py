"""Batched L2-penalised Poisson regression: one fit for many targets that share a design matrix.

The NLB baselines fit one ``sklearn.linear_model.PoissonRegressor`` per held-out neuron. :class:`PoissonGLM`
minimises exactly the same objective for every target column ``y`` of ``Y`` at once,

    mean_i( exp(eta_i) - y_i * eta_i ) + alpha / 2 * ||w||^2,    eta = X w + b,

(sklearn's half Poisson deviance with log link; the intercept ``b`` is not penalised), so its optimum is
sklearn's optimum. sklearn stops L-BFGS at ``max |gradient| <= 1e-4``; we iterate to ``tol`` (1e-8 by default) or,
on large problems, until the objective is within about ``decrement_rtol`` (1e-9) of its minimum, relative, so
the result is the optimum itself rather than an approximation of it (``benchmark/bench_readout.py`` compares
the objective values reached).

Algorithm (a damped, inexact Newton method; all targets advance together and drop out once converged):

- the gradient and the objective always use every row, in float64;
- small problems (at most ``2 * hessian_rows`` rows): plain Newton with the exact Hessian and a Cholesky solve;
- large problems: start from the optimum of the same objective on an evenly strided subset of
  ``hessian_rows`` rows (cheap, and close; found the same way with a four times smaller subset), then solve
  each Newton system by conjugate gradients on the exact Hessian (Hessian-vector products over all rows, in
  float32), preconditioned by the subset Hessian, to a relative residual of ``min(0.5, sqrt(max |g|))`` (the
  classic forcing term that keeps Newton's fast local convergence);
- a per-target backtracking (Armijo) line search on the exact objective guarantees descent; a target also stops
  when the decrease a step promises is below the float64 resolution of its objective (then
  ``max |gradient|`` is typically ~1e-8; it counts as converged if it meets sklearn's 1e-4).

Hessian approximations and float32 products shape the path only, never the fixed point (gradient = 0), so
they do not change the answer. The linear predictor is capped at ``ETA_MAX`` before ``exp`` so that no step
can overflow. A target without any spike has no finite optimum; like sklearn we return intercept -inf
(prediction 0) and zero weights for it. Everything is deterministic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.linalg
from threadpoolctl import threadpool_limits

ETA_MAX = 50.0  # exp(50) ~ 5e21 counts per bin: far beyond any optimum, safe from overflow
_ARMIJO = 1e-4
_MAX_HALVINGS = 40
SKLEARN_TOL = 1e-4  # PoissonRegressor's default stopping rule, max |gradient| <= 1e-4


@dataclass
class _State:
    """Working state of the targets that are still being optimised (k of them)."""

    cols: np.ndarray  # (k,) indices of the active targets among the fitted ones
    W: np.ndarray  # (P, k) weights, intercept last
    eta: np.ndarray  # (n, k) linear predictor X W
    mu: np.ndarray  # (n, k) exp(eta)
    f: np.ndarray  # (k,) objective
    XtY: np.ndarray  # (P, k) X^T Y, so that sum_i y_i eta_i = XtY . w without touching Y again
    Minv: np.ndarray | None = None  # (k, P, P) fixed CG preconditioner (row-subset problems only)

    def keep(self, mask: np.ndarray) -> _State:
        return _State(self.cols[mask], self.W[:, mask], np.ascontiguousarray(self.eta[:, mask]),
                      np.ascontiguousarray(self.mu[:, mask]), self.f[mask], self.XtY[:, mask],
                      None if self.Minv is None else self.Minv[mask])


class PoissonGLM:
    """L2-penalised Poisson GLM (log link, unpenalised intercept) fit to many targets at once.

    Parameters
    ----------
    alpha
        L2 penalty strength, as ``sklearn.linear_model.PoissonRegressor(alpha=...)``.
    tol
        Convergence when ``max |gradient| <= tol`` for a target (sklearn's criterion; its default is 1e-4).
    max_iter
        Maximum Newton iterations.
    hessian_rows
        Rows used to estimate each Hessian; problems with at most twice as many rows use all rows.
    max_cg
        Maximum conjugate-gradient steps per Newton iteration (used only with a row subset).
    hessian_float32
        Build Hessian estimates in float32 (they shape the path, not the optimum). Default: only with a subset.
    decrement_rtol
        With a row subset, a target also stops once its Newton decrement estimated with the subset Hessian,
        ``g' M^-1 g / 2`` (about the distance of the objective from its minimum), is below ``decrement_rtol``
        times the objective. Unlike ``tol`` this does not depend on the scale of the features; 0 disables it.

    Attributes
    ----------
    coef_ : ndarray (n_features, n_targets)
    intercept_ : ndarray (n_targets,)
    n_iter_ : ndarray (n_targets,)
        Newton iterations per target.
    n_hvp_ : int
        Hessian-vector products (each one pass over the data for all active targets).
    converged_ : ndarray of bool (n_targets,)
    grad_max_ : ndarray (n_targets,)
        Final ``max |gradient|`` per target.
    """

    def __init__(self, alpha: float = 1.0, *, tol: float = 1e-8, max_iter: int = 100,
                 hessian_rows: int = 20000, max_cg: int = 10, hessian_float32: bool | None = None,
                 decrement_rtol: float = 1e-9) -> None:
        if alpha < 0 or tol <= 0 or max_iter < 1 or hessian_rows < 1 or max_cg < 1:
            raise ValueError("alpha must be >= 0; tol, max_iter, hessian_rows and max_cg must be positive")
        self.alpha = float(alpha)
        self.tol = float(tol)
        self.max_iter = int(max_iter)
        self.hessian_rows = int(hessian_rows)
        self.max_cg = int(max_cg)
        self.hessian_float32 = hessian_float32
        self.decrement_rtol = float(decrement_rtol)
        self._nested = False

    def fit(self, X: np.ndarray, Y: np.ndarray, progress: Callable[[int], None] | None = None) -> PoissonGLM:
        """Fit all columns of ``Y`` (n_samples, n_targets) on ``X`` (n_samples, n_features).

        ``progress`` is called after every Newton iteration with the number of targets done.
        """
        X, Y = _check_xy(X, Y)
        n, p = X.shape
        k = Y.shape[1]
        self._Xa = np.hstack([X, np.ones((n, 1))])
        self._pen = np.full(p + 1, self.alpha)
        self._pen[-1] = 0.0
        self._step = max(1, -(-n // self.hessian_rows)) if n > 2 * self.hessian_rows else 1
        # float32 copies serve only the Hessian estimate and Hessian-vector products, which shape the path but
        # not the fixed point; the gradient and the objective stay float64.
        sub = self._step > 1
        f32 = sub if self.hessian_float32 is None else self.hessian_float32
        self._Xs = np.ascontiguousarray(self._Xa[:: self._step], dtype=np.float32 if f32 else np.float64)
        self._X32 = self._Xa.astype(np.float32) if sub else None
        self.n_iter_ = np.zeros(k, dtype=int)
        self.n_hvp_ = 0
        self.grad_max_ = np.zeros(k)
        self.converged_ = np.ones(k, dtype=bool)
        W = np.zeros((p + 1, k))
        means = Y.mean(axis=0)
        W[-1, means == 0] = -np.inf  # no spikes at all: no finite optimum; predict 0 like sklearn
        live = np.flatnonzero(means > 0)
        self._progress = None if progress is None else (lambda done: progress(k - live.size + done))
        if live.size:
            W[:, live] = self._newton(Y[:, live], self._start(X, Y[:, live], means[live]), live)
        if progress is not None:
            progress(k)
        self.coef_, self.intercept_ = W[:-1], W[-1]
        del self._Xa, self._Xs, self._X32
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Expected counts ``exp(X coef + intercept)`` for every target, shape (n_samples, n_targets)."""
        X = np.asarray(X, dtype=np.float64)
        return np.exp(np.minimum(X @ self.coef_ + self.intercept_, ETA_MAX))

    # -- optimisation -------------------------------------------------------------------------------------

    def _start(self, X: np.ndarray, Y: np.ndarray, means: np.ndarray) -> np.ndarray:
        """Starting weights: zero with intercept log(mean) (sklearn's start) or, for large problems, the optimum
        of the same objective on the Hessian row subset, which leaves few iterations on all rows."""
        W = np.zeros((X.shape[1] + 1, Y.shape[1]))
        W[-1] = np.log(means)
        if self._step > 1:
            X_sub, Y_sub = X[:: self._step], Y[:: self._step]
            # The subset problem is solved the same way with a four times smaller Hessian subset, whose own start
            # is exact Newton (measured faster than exact Newton on the whole subset at MC_Maze's size).
            sub = PoissonGLM(self.alpha, tol=max(self.tol, 1e-6), max_iter=self.max_iter, hessian_float32=True,
                             hessian_rows=X_sub.shape[0] if self._nested else max(1, self.hessian_rows // 4))
            sub._nested = True
            sub.fit(X_sub, Y_sub)
            usable = np.isfinite(sub.intercept_)
            W[:-1, usable], W[-1, usable] = sub.coef_[:, usable], sub.intercept_[usable]
        return W

    def _newton(self, Y: np.ndarray, W: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Optimise the targets ``cols`` from weights ``W``; return their optimal weights."""
        Xa = self._Xa
        n = Xa.shape[0]
        eta = Xa @ W
        st = _State(np.arange(Y.shape[1]), W, eta, np.exp(np.minimum(eta, ETA_MAX)), np.zeros(Y.shape[1]),
                    Xa.T @ Y)
        st.f = self._objective(st.mu, st.W, st.XtY, n)
        W_out = W.copy()
        for _ in range(self.max_iter):
            G = (Xa.T @ st.mu - st.XtY) / n + self._pen[:, None] * st.W
            gmax = np.abs(G).max(axis=0)
            self.grad_max_[cols[st.cols]] = gmax
            todo = gmax > self.tol
            if st.Minv is not None and self.decrement_rtol > 0:  # objective already at its minimum's precision
                todo &= _decrement(G, st.Minv) > self.decrement_rtol * np.abs(st.f)
            if not todo.all():
                W_out[:, st.cols[~todo]] = st.W[:, ~todo]
                st, G, gmax = st.keep(todo), G[:, todo], gmax[todo]
            if st.cols.size == 0:
                return W_out
            if self._progress is not None:
                self._progress(int(Y.shape[1] - st.cols.size))
            self.n_iter_[cols[st.cols]] += 1
            D, XD = self._direction(st, G, gmax)
            stalled = self._line_search(st, G, D, XD, n)
            if stalled.any():  # no descent left at float64 precision: stop these targets where they are
                W_out[:, st.cols[stalled]] = st.W[:, stalled]
                self.converged_[cols[st.cols[stalled]]] = gmax[stalled] <= max(self.tol, SKLEARN_TOL)
                st = st.keep(~stalled)
                if st.cols.size == 0:
                    return W_out
        W_out[:, st.cols] = st.W
        self.converged_[cols[st.cols]] = False
        return W_out

    def _objective(self, mu: np.ndarray, W: np.ndarray, XtY: np.ndarray, n: int) -> np.ndarray:
        """mean(mu - y eta) + alpha/2 |w|^2 per target, using sum(y eta) = (X^T y) . w."""
        return (mu.sum(axis=0) - (XtY * W).sum(axis=0)) / n + 0.5 * (self._pen[:, None] * W**2).sum(axis=0)

    def _direction(self, st: _State, G: np.ndarray, gmax: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Newton direction D (P, k) and X D (n, k).

        With every row in the "subset" the Hessian is exact and D is the Newton step. Otherwise the subset
        Hessian at the starting point (close to the optimum, see ``_start``) preconditions conjugate gradients on
        the exact Hessian.
        """
        if self._step == 1:
            D = -np.einsum("kij,jk->ik", self._subset_hessian_inverse(st.mu), G)
        else:
            if st.Minv is None:
                st.Minv = self._subset_hessian_inverse(st.mu[:: self._step][: self._Xs.shape[0]])
            D = self._pcg(st.mu.astype(np.float32), st.Minv, G, np.minimum(0.5, np.sqrt(gmax)))
        return D, self._Xa @ D

    def _subset_hessian_inverse(self, mus: np.ndarray) -> np.ndarray:
        """Inverse of each target's Hessian estimated on the row subset, shape (k, P, P)."""
        Xs = self._Xs
        k, P = mus.shape[1], Xs.shape[1]
        out = np.empty((k, P, P))
        eye = np.eye(P)
        # Many small BLAS calls: one thread is faster than two, and much faster when the CPU is shared.
        with threadpool_limits(1):
            for j in range(k):
                Z = Xs * np.sqrt(mus[:, j : j + 1], dtype=Xs.dtype)
                H = (Z.T @ Z).astype(np.float64) / Xs.shape[0]
                H[np.diag_indices(P)] += self._pen
                out[j] = _spd_inverse(H, eye)
        return out

    def _pcg(self, mu32: np.ndarray, Minv: np.ndarray, G: np.ndarray, forcing: np.ndarray) -> np.ndarray:
        """Preconditioned CG for H D = -G per column (H on all rows, float32 products), from D = 0.

        A column stops once its residual (the quadratic model's gradient after the step) has shrunk by
        ``forcing`` or is below ``tol / 2``.
        """
        X32 = self._X32
        n, k = X32.shape[0], G.shape[1]
        R = -G
        Pdir = np.einsum("kij,jk->ik", Minv, R)
        rz = (R * Pdir).sum(axis=0)
        goal = np.maximum(forcing * np.linalg.norm(R, axis=0), 0.5 * self.tol)
        D = np.zeros_like(G)
        act = np.arange(k)
        tiny = np.finfo(float).tiny
        for _ in range(self.max_cg):
            sel = slice(None) if act.size == k else act
            Pa = Pdir[:, sel]
            XP = X32 @ Pa.astype(np.float32)
            XP *= mu32[:, sel]
            HP = (X32.T @ XP).astype(np.float64) / n + self._pen[:, None] * Pa
            self.n_hvp_ += 1
            a = rz[sel] / np.maximum((Pa * HP).sum(axis=0), tiny)
            D[:, sel] += a * Pa
            R[:, sel] -= a * HP
            act = act[np.linalg.norm(R[:, sel], axis=0) > goal[sel]]
            if act.size == 0:
                break
            Z = np.einsum("kij,jk->ik", Minv[act], R[:, act])
            rz_new = (R[:, act] * Z).sum(axis=0)
            Pdir[:, act] = Z + (rz_new / np.maximum(rz[act], tiny)) * Pdir[:, act]
            rz[act] = rz_new
        return D

    def _line_search(self, st: _State, G: np.ndarray, D: np.ndarray, XD: np.ndarray, n: int) -> np.ndarray:
        """Backtrack each target's step until Armijo holds; update ``st`` in place; return the stalled mask."""
        k = st.cols.size
        slope = (G * D).sum(axis=0)
        t = np.ones(k)
        # A predicted decrease below float64 resolution of the objective cannot be verified: stop there.
        stalled = slope >= -16 * np.finfo(float).eps * np.abs(st.f)
        pending = np.flatnonzero(~stalled)
        for _ in range(_MAX_HALVINGS):
            if pending.size == 0:
                return stalled
            sel = slice(None) if pending.size == k else pending  # views, not copies, while all are pending
            Wt = st.W[:, sel] + t[sel] * D[:, sel]
            eta = st.eta[:, sel] + t[sel] * XD[:, sel]
            mu = np.exp(np.minimum(eta, ETA_MAX, out=eta) if eta.max() > ETA_MAX else eta)
            ft = self._objective(mu, Wt, st.XtY[:, sel], n)
            f0 = st.f[sel]
            ok = ft <= f0 + _ARMIJO * t[sel] * slope[sel] + 4 * np.finfo(float).eps * np.abs(f0)
            if ok.all() and pending.size == k:
                st.W, st.eta, st.mu, st.f = Wt, eta, mu, ft
                return stalled
            idx = pending[ok]
            st.W[:, idx], st.eta[:, idx], st.mu[:, idx], st.f[idx] = Wt[:, ok], eta[:, ok], mu[:, ok], ft[ok]
            pending = pending[~ok]
            t[pending] *= 0.5
        stalled[pending] = True
        return stalled


def _decrement(G: np.ndarray, Minv: np.ndarray) -> np.ndarray:
    """Estimated Newton decrement ``g' M^-1 g / 2`` of each target (columns of G; Minv is targets x P x P)."""
    return 0.5 * np.einsum("ik,kij,jk->k", G, Minv, G)


def _spd_inverse(H: np.ndarray, eye: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive semi-definite matrix, adding the least ridge that makes it definite."""
    scale = max(float(np.trace(H)) / H.shape[0], np.finfo(float).tiny)
    ridge = 1e-12
    while True:
        try:
            c = scipy.linalg.cho_factor(H + ridge * scale * eye, check_finite=False)
            return scipy.linalg.cho_solve(c, eye, check_finite=False)
        except np.linalg.LinAlgError:
            ridge *= 100.0
            if ridge > 1.0:
                raise


def _check_xy(X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    X = np.ascontiguousarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    if Y.ndim == 1:
        Y = Y[:, None]
    if X.ndim != 2 or Y.ndim != 2 or X.shape[0] != Y.shape[0]:
        raise ValueError(f"X must be (n, p) and Y (n, k) with the same n; got {X.shape} and {Y.shape}")
    if not (np.isfinite(X).all() and np.isfinite(Y).all()):
        raise ValueError("X and Y must be finite")
    if (Y < 0).any():
        raise ValueError("Y must be non-negative counts")
    return X, Y
