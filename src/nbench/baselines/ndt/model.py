"""The Neural Data Transformer network (Ye & Pandarinath 2021) in PyTorch.

Spike counts (batch x time x neurons) -> spike embedding x sqrt(d_model) -> + learned position embedding ->
dropout -> encoder layers with a local attention window -> LayerNorm -> rate dropout -> linear readout of
log-rates. Attention uses ``torch.nn.functional.scaled_dot_product_attention`` with a boolean window mask.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from nbench.baselines.ndt.config import NDTConfig, d_model_for
from nbench.baselines.ndt.data import Layout

INIT_RANGE = 0.1


def context_mask(n_bins: int, forward: int, backward: int, device: torch.device | None = None) -> torch.Tensor:
    """Boolean (query x key) mask, True where bin t may attend to bin s: t - backward <= s <= t + forward.

    A negative ``forward`` or ``backward`` leaves that side unlimited.
    """
    t = torch.arange(n_bins, device=device)
    offset = t[None, :] - t[:, None]  # key - query
    allowed = torch.ones(n_bins, n_bins, dtype=torch.bool, device=device)
    if forward >= 0:
        allowed &= offset <= forward
    if backward >= 0:
        allowed &= offset >= -backward
    return allowed


def fast_dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Inverted dropout drawn with ``rand_like``; on CPU this is faster than ``F.dropout`` (bernoulli_)."""
    if not training or p <= 0.0:
        return x
    if p >= 1.0:
        return torch.zeros_like(x)
    keep = torch.rand_like(x) >= p
    return x * keep.to(x.dtype) * (1.0 / (1.0 - p))


class Dropout(nn.Module):
    """``nn.Dropout`` with :func:`fast_dropout`."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fast_dropout(x, self.p, self.training)


class EncoderLayer(nn.Module):
    """One transformer encoder block (pre- or post-LayerNorm) with ReLU feed-forward."""

    def __init__(self, d_model: int, config: NDTConfig) -> None:
        super().__init__()
        self.num_heads = config.num_heads
        self.pre_norm = config.pre_norm
        self.attn_dropout = config.dropout
        self.in_proj = nn.Linear(d_model, 3 * d_model)
        self.out_proj = nn.Linear(d_model, d_model)
        self.linear1 = nn.Linear(d_model, config.hidden_size)
        self.linear2 = nn.Linear(config.hidden_size, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = Dropout(config.dropout)
        # Same initialisation as torch.nn.MultiheadAttention, which the original code used.
        nn.init.xavier_uniform_(self.in_proj.weight)
        nn.init.zeros_(self.in_proj.bias)
        nn.init.zeros_(self.out_proj.bias)
        if config.fixup_init:
            # T-Fixup as the authors apply it. Their extra sqrt(2) on the value projection targets a parameter
            # name that nn.MultiheadAttention does not have (it packs q, k, v in in_proj_weight), so it never
            # took effect; it is left out here too.
            scale = 0.67 * config.num_layers ** (-0.25)
            with torch.no_grad():
                for layer in (self.linear1, self.linear2, self.out_proj):
                    layer.weight.mul_(scale)

    def attend(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        batch, n_bins, d_model = x.shape
        qkv = self.in_proj(x).view(batch, n_bins, 3, self.num_heads, d_model // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each batch x heads x time x head_dim
        if self.training and self.attn_dropout > 0:
            # Explicit attention so that the dropout on the attention weights uses fast_dropout.
            scores = (q @ k.transpose(-2, -1)) * (q.shape[-1] ** -0.5)
            weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
            out = fast_dropout(weights, self.attn_dropout, True) @ v
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.out_proj(out.transpose(1, 2).reshape(batch, n_bins, d_model))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        if self.pre_norm:
            x = x + self.dropout(self.attend(self.norm1(x), mask))
            return x + self.dropout(self.feed_forward(self.norm2(x)))
        x = self.norm1(x + self.dropout(self.attend(x, mask)))
        return self.norm2(x + self.dropout(self.feed_forward(x)))

    def feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear2(self.dropout(F.relu(self.linear1(x))))


class NDTNet(nn.Module):
    """NDT network mapping (batch x time x neurons) counts to log-rates of the same shape.

    Parameters
    ----------
    config
        Architecture settings.
    n_bins
        Sequence length (trial bins plus forward bins); sets the learned position table.
    n_neurons
        Input and output channels (held-in plus held-out neurons).
    max_spikes
        Largest count the count embedding represents; inputs are clamped to it, and ``max_spikes + 1`` is the
        mask token when zero-masking is off.
    """

    def __init__(self, config: NDTConfig, n_bins: int, n_neurons: int, max_spikes: int) -> None:
        super().__init__()
        config.validate(n_neurons)
        self.config = config
        self.n_bins = n_bins
        self.n_neurons = n_neurons
        self.max_spikes = max_spikes
        self.d_model = d_model_for(config, n_neurons)
        if config.embedding == "count":
            self.embedder: nn.Module = nn.Embedding(max_spikes + 2, config.embed_dim)
            nn.init.uniform_(self.embedder.weight, -INIT_RANGE, INIT_RANGE)
        elif config.embedding == "linear":
            self.embedder = nn.Linear(n_neurons, self.d_model)
        else:
            self.embedder = nn.Identity()
        self.scale = math.sqrt(self.d_model)
        self.position = nn.Embedding(n_bins, self.d_model)
        self.embed_dropout = Dropout(config.dropout_embedding)
        self.layers = nn.ModuleList(EncoderLayer(self.d_model, config) for _ in range(config.num_layers))
        self.final_norm = nn.LayerNorm(self.d_model)
        self.rate_dropout = Dropout(config.dropout_rates)
        self.readout = nn.Linear(self.d_model, n_neurons)
        nn.init.uniform_(self.readout.weight, -INIT_RANGE, INIT_RANGE)
        nn.init.zeros_(self.readout.bias)
        self.register_buffer("window", context_mask(n_bins, config.context_forward, config.context_backward),
                             persistent=False)

    def embed(self, counts: torch.Tensor) -> torch.Tensor:
        """Counts (batch x time x neurons) -> tokens (batch x time x d_model), scaled, with positions."""
        if self.config.embedding == "count":
            # One-hot @ table equals the lookup; its backward is one matmul instead of a slow scatter on CPU.
            one_hot = F.one_hot(counts.long().clamp(0, self.max_spikes + 1), self.max_spikes + 2)
            tokens = (one_hot.to(self.embedder.weight.dtype) @ self.embedder.weight).flatten(start_dim=-2)
        else:
            tokens = self.embedder(counts.float())
        n_bins = counts.shape[1]
        tokens = tokens * self.scale + self.position.weight[:n_bins]
        return self.embed_dropout(tokens)

    def forward(self, counts: torch.Tensor) -> torch.Tensor:
        """Log-rates (expected counts per bin, log scale) for every bin and neuron."""
        x = self.embed(counts)
        n_bins = counts.shape[1]
        mask = self.window[:n_bins, :n_bins]
        for layer in self.layers:
            x = layer(x, mask)
        return self.readout(self.rate_dropout(self.final_norm(x)))


def poisson_nll(log_rates: torch.Tensor, targets: torch.Tensor, loss_mask: torch.Tensor) -> torch.Tensor:
    """Mean Poisson NLL exp(r) - y r (no Stirling term, as PyTorch's PoissonNLLLoss) over ``loss_mask``."""
    log_rates = log_rates.float()
    weight = loss_mask.to(log_rates.dtype)
    # Multiplying by the mask is much faster on CPU than boolean indexing (no nonzero / gather).
    nll = (torch.exp(log_rates) - targets.to(log_rates.dtype) * log_rates) * weight
    return nll.sum() / weight.sum().clamp(min=1.0)


def model_input(heldin: torch.Tensor, layout: Layout) -> torch.Tensor:
    """Network input for held-in counts (trials x bins x held-in, int64): held-out channels and forward bins
    are zeros, as in training."""
    x = torch.zeros(heldin.shape[0], layout.total_bins, layout.total_neurons, dtype=torch.long)
    x[:, : layout.n_bins, : layout.n_heldin] = heldin
    return x


def unmasked_rates(net: NDTNet, heldin: torch.Tensor, layout: Layout, device: torch.device,
                   batch_size: int = 256) -> torch.Tensor:
    """Rates (CPU float32; trials x trial + forward bins x all neurons) from unmasked held-in counts.

    The caller sets eval mode and disables gradients; trials go through the network ``batch_size`` at a time.
    """
    chunks = [net(model_input(heldin[start:start + batch_size], layout).to(device)).exp().float().cpu()
              for start in range(0, heldin.shape[0], batch_size)]
    if not chunks:
        return torch.zeros(0, layout.total_bins, layout.total_neurons)
    return torch.cat(chunks)
