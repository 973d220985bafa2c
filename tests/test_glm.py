"""The batched Poisson GLM against sklearn's PoissonRegressor: same objective, same optimum, same co-bps."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.linear_model import PoissonRegressor
from threadpoolctl import threadpool_limits

from nbench.baselines.glm import PoissonGLM
from nbench.baselines.readout import poisson_readout
from nbench.metrics.poisson import bits_per_spike


def make_problem(n: int, p: int, k: int, seed: int, scale: float = 0.4) -> tuple[np.ndarray, np.ndarray]:
    """Smoothed-log-rate-like features and sparse Poisson targets that depend on them."""
    rng = np.random.default_rng(seed)
    X = np.log(rng.gamma(0.5, 0.05, (n, p)) + 1e-4)
    W = rng.normal(0, scale / np.sqrt(p), (p, k))
    b = np.log(rng.uniform(0.01, 0.2, k)) - (X.mean(0) @ W)
    Y = rng.poisson(np.exp(X @ W + b)).astype(float)
    return X, Y


def sklearn_fit(X: np.ndarray, Y: np.ndarray, alpha: float, tol: float) -> tuple[np.ndarray, np.ndarray]:
    coefs, icpts = [], []
    with threadpool_limits(1):
        for j in range(Y.shape[1]):
            m = PoissonRegressor(alpha=alpha, tol=tol, max_iter=20000).fit(X, Y[:, j])
            coefs.append(m.coef_)
            icpts.append(m.intercept_)
    return np.array(coefs).T, np.array(icpts)


def objective(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float, alpha: float) -> float:
    """sklearn's PoissonRegressor objective: mean half deviance (up to a constant) + alpha/2 |w|^2."""
    eta = X @ w + b
    return float(np.mean(np.exp(eta) - y * eta) + alpha / 2 * w @ w)


@pytest.mark.parametrize("alpha", [0.001, 0.1, 1.0])
@pytest.mark.parametrize("hessian_rows", [100000, 400])  # exact Newton; row subset + preconditioned CG
def test_same_optimum_as_tightly_converged_sklearn(alpha: float, hessian_rows: int) -> None:
    X, Y = make_problem(3000, 12, 4, seed=1)
    glm = PoissonGLM(alpha=alpha, hessian_rows=hessian_rows, decrement_rtol=0).fit(X, Y)  # to |gradient| 1e-8
    coef, icpt = sklearn_fit(X, Y, alpha, tol=1e-10)
    assert glm.converged_.all() and (glm.grad_max_ < 1e-6).all()
    np.testing.assert_allclose(glm.coef_, coef, atol=2e-6)
    np.testing.assert_allclose(glm.intercept_, icpt, atol=2e-6)
    np.testing.assert_allclose(glm.predict(X), np.exp(X @ coef + icpt), rtol=1e-5)
    for j in range(Y.shape[1]):  # never worse than sklearn on sklearn's own objective
        ours = objective(X, Y[:, j], glm.coef_[:, j], glm.intercept_[j], alpha)
        assert ours <= objective(X, Y[:, j], coef[:, j], icpt[j], alpha) + 1e-12


@pytest.mark.parametrize("alpha", [0.01, 0.1])
def test_co_bps_within_0_002_of_the_nlb_sklearn_recipe(alpha: float) -> None:
    X_all, Y_all = make_problem(7500, 20, 6, seed=2)
    X, Y, X_eval, Y_eval = X_all[:6000], Y_all[:6000], X_all[6000:], Y_all[6000:]
    with threadpool_limits(1):
        ours, ref = (poisson_readout(X, Y, [X_eval], alpha, readout)[0] for readout in ("batched", "sklearn"))
    bps = [bits_per_spike(np.clip(r, 1e-9, 1e20), Y_eval) for r in (ours, ref)]
    assert bps[0] > 0.01  # the problem carries signal
    assert abs(bps[0] - bps[1]) < 0.002


def test_row_subset_path_reaches_the_exact_newton_answer() -> None:
    X, Y = make_problem(5000, 15, 5, seed=3)
    exact = PoissonGLM(alpha=0.01, hessian_rows=10**6).fit(X, Y)
    subset = PoissonGLM(alpha=0.01, hessian_rows=500, decrement_rtol=0).fit(X, Y)
    assert subset.n_hvp_ > 0 and exact.n_hvp_ == 0
    np.testing.assert_allclose(subset.coef_, exact.coef_, atol=1e-6)
    np.testing.assert_allclose(subset.intercept_, exact.intercept_, atol=1e-6)


def test_decrement_stop_is_at_the_optimum_objective() -> None:
    """Stopping on the estimated Newton decrement leaves each objective within ~1e-9 relative of its minimum,
    whatever the scale of the features (tiny features have tiny gradients long before the optimum)."""
    for scale in (1.0, 0.01):
        X, Y = make_problem(5000, 15, 5, seed=3)
        X = (X - X.mean(axis=0)) * scale
        tight = PoissonGLM(alpha=1e-4 * scale**2, hessian_rows=500, decrement_rtol=0, tol=1e-12).fit(X, Y)
        default = PoissonGLM(alpha=1e-4 * scale**2, hessian_rows=500).fit(X, Y)
        for j in range(Y.shape[1]):
            f_tight = objective(X, Y[:, j], tight.coef_[:, j], tight.intercept_[j], 1e-4 * scale**2)
            gap = objective(X, Y[:, j], default.coef_[:, j], default.intercept_[j], 1e-4 * scale**2) - f_tight
            assert -1e-14 < gap < 3e-9 * abs(f_tight)
        coef, icpt = sklearn_fit(X, Y, 1e-4 * scale**2, tol=1e-4)  # NLB's readout: sklearn's default tolerance
        for j in range(Y.shape[1]):
            assert (objective(X, Y[:, j], default.coef_[:, j], default.intercept_[j], 1e-4 * scale**2)
                    <= objective(X, Y[:, j], coef[:, j], icpt[j], 1e-4 * scale**2))


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_silent_target_predicts_zero_like_sklearn() -> None:
    X, Y = make_problem(800, 5, 3, seed=4)
    Y[:, 1] = 0
    glm = PoissonGLM(alpha=0.1).fit(X, Y)
    ref = PoissonRegressor(alpha=0.1).fit(X, Y[:, 1])
    assert glm.intercept_[1] == ref.intercept_ == -np.inf
    assert (glm.coef_[:, 1] == 0).all() and (glm.predict(X)[:, 1] == 0).all()
    assert np.isfinite(glm.intercept_[[0, 2]]).all()


def test_deterministic_and_finite_on_extreme_inputs() -> None:
    X, Y = make_problem(2000, 8, 3, seed=5, scale=3.0)  # strong modulation: some rates are huge
    a, b = PoissonGLM(alpha=0.01).fit(X, Y), PoissonGLM(alpha=0.01).fit(X, Y)
    assert np.array_equal(a.coef_, b.coef_) and np.array_equal(a.intercept_, b.intercept_)
    assert np.isfinite(a.predict(X * 50)).all()  # the linear predictor is capped before exp


def test_bad_inputs_raise() -> None:
    X, Y = make_problem(100, 3, 2, seed=6)
    with pytest.raises(ValueError, match="non-negative"):
        PoissonGLM().fit(X, -Y)
    with pytest.raises(ValueError, match="finite"):
        PoissonGLM().fit(np.where(X == X[0, 0], np.nan, X), Y)
    with pytest.raises(ValueError, match="same n"):
        PoissonGLM().fit(X[:-1], Y)
    with pytest.raises(ValueError, match="alpha"):
        PoissonGLM(alpha=-1)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(50, 400), p=st.integers(1, 6), k=st.integers(1, 4), alpha=st.sampled_from([1e-3, 0.1, 2.0]),
       seed=st.integers(0, 10**6))
def test_gradient_vanishes_at_the_returned_weights(n: int, p: int, k: int, alpha: float, seed: int) -> None:
    X, Y = make_problem(n, p, k, seed)
    glm = PoissonGLM(alpha=alpha).fit(X, Y)
    live = Y.sum(axis=0) > 0
    mu = glm.predict(X)[:, live]
    grad_w = X.T @ (mu - Y[:, live]) / n + alpha * glm.coef_[:, live]
    grad_b = (mu - Y[:, live]).mean(axis=0)
    assert np.abs(grad_w).max(initial=0) < 1e-6 and np.abs(grad_b).max(initial=0) < 1e-6
