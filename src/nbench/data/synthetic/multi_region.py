"""``multi_region``: an embedded multi-region, multi-session dataset with known rates, choice and a whisker trace.

Generative model (all parameters in :class:`MultiRegionParams`; generated from the seed in about a second on each
use, so there is no cache to go stale):

- **Regions.** Six regions named after the IBL repeated site, each with a 3-d latent state. Every region has a
  private part that follows its own damped rotation (frequency ``freq_hz[r]``, decay ``decay``) driven by
  private noise, scaled to unit variance: predictable only from the region itself. Directed coupling
  (:data:`PARENTS`: LP -> VISa, LP -> PO, VISa -> PO, VISa -> CA1, CA1 -> DG) mixes in a random projection of
  the parents' latents one bin earlier: ``x_r = sqrt(1 - coupling^2) private_r + coupling * parents_r`` (each
  part of unit variance), so a region with parents is partly predictable from the others. **APN** has no parent
  and no child: it is driven only by itself (the region the others cannot predict).
- **Stimulus.** Each trial shows a stimulus on the left or right at contrast 0.25 or 1 (4 conditions) as a pulse
  into LP from bin ``stim_bin`` for ``stim_bins`` bins. Trials are stimulus-aligned: 100 bins of 20 ms, the
  stimulus at bin 25 (0.5 s), like IBL's -0.5 ... +1.5 s windows.
- **Choice.** A decision variable integrates VISa's first latent over bins ``stim_bin .. choice_bin`` plus noise;
  the binary choice (0 / 1) is its sign. It is driven by the latents, so it is decodable from the rates.
- **Whisker.** A continuous, whisker-motion-energy-like trace driven by PO alone: softplus of PO's first latent
  plus a little noise, per bin.
- **Neurons.** Each session records a subset of the regions (4 to 6, APN always), 40 to 60 neurons per region.
  Neuron n of region r fires at ``exp(b_n + 2 tanh(w_n . x_r(t) / 2))`` expected spikes per bin (a saturating
  modulation of at most e^2 either way), with a baseline ``b_n`` from a log-normal rate (median 8 Hz) and a
  random loading direction ``w_n`` of norm ``loading`` x U(0.4, 1); counts are Poisson, and spike times are
  drawn uniformly within each bin (the exact draw of a Poisson process whose rate is constant within a bin).
- **Split.** Per session, trials are split 70 / 10 / 20 % (train / val / test) by a permutation from the seed.

True rates are expected counts per bin. Sessions share the regions' dynamics but not their neurons, so a model
trained on several sessions can learn the dynamics from more data.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from dataclasses import dataclass

import numpy as np

from nbench.data.recording import BehaviorInfo, Recording, TrialSegments, TrialSpikes, TrialTable, UnitTable

GENERATOR_VERSION = 1
REGIONS = ("LP", "VISa", "PO", "CA1", "DG", "APN")
PARENTS = {"LP": (), "VISa": ("LP",), "PO": ("LP", "VISa"), "CA1": ("VISa",), "DG": ("CA1",), "APN": ()}
#: The regions each session records (APN in all).
SESSIONS = (("mr0", ("LP", "VISa", "PO", "CA1", "APN")), ("mr1", ("VISa", "PO", "DG", "APN")),
            ("mr2", REGIONS))


@dataclass(frozen=True)
class MultiRegionParams:
    """Generator settings (see the module docstring)."""

    seed: int = 0
    n_trials: int = 150
    n_bins: int = 100
    bin_ms: float = 20.0
    latent_dim: int = 3
    stim_bin: int = 25
    stim_bins: int = 8
    choice_bin: int = 60
    decay: float = 0.95
    noise: float = 0.3
    coupling: float = 0.75
    stim_gain: float = 1.5
    loading: float = 1.0
    min_units: int = 40
    max_units: int = 60
    freq_hz: tuple[float, ...] = (2.0, 3.0, 1.5, 2.5, 1.0, 3.5)


def dataset_version(params: MultiRegionParams = MultiRegionParams()) -> str:
    """Generator version plus a hash of the parameters (a change of either is a new dataset version)."""
    blob = json.dumps(dataclasses.asdict(params), sort_keys=True).encode()
    return f"v{GENERATOR_VERSION}-{hashlib.sha256(blob).hexdigest()[:10]}"


def _rotation(params: MultiRegionParams, freq_hz: float) -> np.ndarray:
    """A damped rotation of the first two latent dimensions (the others decay alone)."""
    angle = 2 * np.pi * freq_hz * params.bin_ms / 1000.0
    mat = params.decay * np.eye(params.latent_dim)
    mat[:2, :2] = params.decay * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return mat


def _unit_variance(x: np.ndarray) -> np.ndarray:
    """Scale each latent dimension (last axis) to unit variance over trials and bins."""
    return x / x.reshape(-1, x.shape[-1]).std(axis=0)


def simulate_latents(params: MultiRegionParams, stimulus: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Latents of every region: trials x bins x regions x latent_dim, for per-trial signed contrasts."""
    n, d = len(stimulus), params.latent_dim
    pulse = np.zeros(params.n_bins)
    pulse[params.stim_bin:params.stim_bin + params.stim_bins] = params.stim_gain
    private = np.zeros((n, params.n_bins, len(REGIONS), d))
    for r, name in enumerate(REGIONS):
        mat, state = _rotation(params, params.freq_hz[r]), 0.3 * rng.standard_normal((n, d))
        for t in range(params.n_bins):
            private[:, t, r] = state
            state = state @ mat.T + params.noise * rng.standard_normal((n, d))
            if name == "LP":
                state[:, 0] += pulse[t] * stimulus
        private[:, :, r] = _unit_variance(private[:, :, r])
    mix = rng.normal(0, 1 / np.sqrt(d), (len(REGIONS), len(REGIONS), d, d))
    x = private.copy()
    for r, name in enumerate(REGIONS):  # REGIONS lists parents before children
        if not PARENTS[name]:
            continue
        drive = sum(x[:, :, REGIONS.index(p)] @ mix[r, REGIONS.index(p)].T for p in PARENTS[name])
        drive = np.concatenate([drive[:, :1], drive[:, :-1]], axis=1)  # the parents one bin earlier
        x[:, :, r] = (np.sqrt(1 - params.coupling**2) * private[:, :, r]
                      + params.coupling * _unit_variance(drive))
    return x


@functools.lru_cache(maxsize=2)
def generate(params: MultiRegionParams = MultiRegionParams()) -> tuple[Recording, ...]:
    """The sessions of the dataset as recordings (see the module docstring); kept in memory once generated."""
    rng = np.random.default_rng([GENERATOR_VERSION, params.seed])
    version = dataset_version(params)
    recordings = []
    for name, regions in SESSIONS:
        side = rng.choice([-1.0, 1.0], params.n_trials)
        contrast = rng.choice([0.25, 1.0], params.n_trials)
        latents = simulate_latents(params, side * contrast, rng)
        recordings.append(_session(params, rng, name, regions, latents, side, contrast, version))
    return tuple(recordings)


def _session(params: MultiRegionParams, rng: np.random.Generator, name: str, regions: tuple[str, ...],
             latents: np.ndarray, side: np.ndarray, contrast: np.ndarray, version: str) -> Recording:
    sizes = rng.integers(params.min_units, params.max_units + 1, len(regions))
    region_of = np.repeat(np.array(regions), sizes)
    index = np.array([REGIONS.index(r) for r in region_of])
    directions = rng.standard_normal((len(index), params.latent_dim))
    loadings = directions / np.linalg.norm(directions, axis=1, keepdims=True)
    loadings *= params.loading * rng.uniform(0.4, 1.0, (len(index), 1))
    base = np.log(np.exp(rng.normal(np.log(8.0), 0.6, len(index))) * params.bin_ms / 1000.0)
    drive = np.einsum("ntud,ud->ntu", latents[:, :, index], loadings)
    rates = np.exp(base + 2.0 * np.tanh(drive / 2.0)).astype(np.float32)
    counts = rng.poisson(rates).astype(np.float32)
    vis = REGIONS.index("VISa")
    evidence = latents[:, params.stim_bin:params.choice_bin, vis, 0].sum(axis=1)
    choice = (evidence + 0.5 * evidence.std() * rng.standard_normal(len(evidence)) > 0).astype(np.float64)
    po = REGIONS.index("PO")
    whisker = np.log1p(np.exp(1.5 * latents[:, :, po, 0])) + 0.05 * rng.standard_normal(latents.shape[:2])
    n_train, n_val = int(0.7 * params.n_trials), int(0.1 * params.n_trials)
    split = rng.permutation(np.repeat(["train", "val", "test"], [n_train, n_val, params.n_trials - n_train - n_val]))
    condition = ((side > 0).astype(int) * 2 + (contrast > 0.5).astype(int))
    units = UnitTable(session=name, local_id=np.arange(len(index)), region=region_of)
    trials = TrialTable({"split": split, "condition": condition, "choice": choice, "stimulus_side": side,
                         "contrast": contrast})
    segments = TrialSegments(bin_ms=params.bin_ms, counts=counts, behavior=whisker[..., None],
                             behavior_names=("whisker",), true_rates=rates,
                             spike_times=_spike_times(counts, params.bin_ms, rng))
    return Recording(name="multi_region", units=units, trials=trials, segments=segments,
                     behavior=(BehaviorInfo("choice", "categorical"), BehaviorInfo("whisker", "continuous")),
                     provenance={"source": "synthetic", "name": "multi_region", "version": version,
                                 "session": name, "params": dataclasses.asdict(params)})


def _spike_times(counts: np.ndarray, bin_ms: float, rng: np.random.Generator) -> TrialSpikes:
    """One time per counted spike, uniform within its bin (the process's exact draw), sorted by (trial, time)."""
    whole = counts.astype(np.int64)
    trial, bin_index, unit = np.nonzero(whole)
    repeats = whole[trial, bin_index, unit]
    trial, bin_index, unit = (np.repeat(a, repeats) for a in (trial, bin_index, unit))
    fraction = rng.random(len(trial))
    # nonzero lists spikes by (trial, bin), so sorting by bin + fraction within a trial is nearly free
    order = np.argsort((trial * counts.shape[1] + bin_index) + fraction, kind="stable")
    time_ms = (bin_index + fraction) * bin_ms
    return TrialSpikes(trial[order], time_ms[order], unit[order].astype(np.int32), jittered=False)
