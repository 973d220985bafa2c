"""The Swap-VAE network and losses (Liu et al. 2021; ``nerdslab/SwapVAE`` ``vae_kits/model.py::swapVAE_neural``).

- Encoder: Linear(N, N) - BN - ReLU - Linear(N, hidden) - BN - ReLU - Linear(hidden, latent + style). The output
  splits into the content ``c`` (deterministic), the style mean and the style log-variance.
- Decoder: Linear(latent, hidden) - BN - ReLU - Linear(hidden, N) - BN - ReLU - Linear(N, N) - Softplus: rates.
- Kaiming-normal weights, zero biases; BatchNorm weight 1, bias 0.
- Loss of two views x1, x2: the Poisson reconstruction of x1 from [c2, s1] and of x2 from [c1, s2] (swapped),
  plus the reconstruction of each from its own [c, s] (original), each averaged over the two views; ``alpha``
  times the style KL averaged over the views; ``beta`` times the alignment 2 - 2 cos(c1, c2).
- The representation of a sample is [c, style mean] (the first ``latent_dim`` encoder outputs, upstream's
  ``_representation``); rates are decoded from it.

Poisson NLL: sum over neurons of r - x log r, mean over the batch. Upstream's clamp of r has no effect (its result
is discarded); here ``log(r + 1e-8)`` keeps a rate that underflows to 0 from producing NaN.
"""

from __future__ import annotations

import torch
from torch import nn

LOG_EPS = 1e-8


def _init(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.kaiming_normal_(module.weight)
        nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm1d):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


def poisson_nll(x: torch.Tensor, rates: torch.Tensor) -> torch.Tensor:
    """Per-sample Poisson NLL without the log-factorial: sum over neurons of ``r - x log r`` (batch,)."""
    return (rates - x * torch.log(rates + LOG_EPS)).sum(dim=-1)


def style_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL of N(mu, exp(logvar)) from N(0, 1), summed over dimensions, mean over the batch."""
    return (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).sum(dim=1).mean()


def alignment(c1: torch.Tensor, c2: torch.Tensor) -> torch.Tensor:
    """BYOL's normalised L2, 2 - 2 cos(c1, c2), mean over the batch."""
    c1, c2 = nn.functional.normalize(c1, dim=-1), nn.functional.normalize(c2, dim=-1)
    return (2 - 2 * (c1 * c2).sum(dim=-1)).mean()


class SwapVAENet(nn.Module):
    """Encoder and decoder of Swap-VAE for ``n_neurons`` inputs."""

    def __init__(self, n_neurons: int, latent_dim: int = 128, style_dim: int = 64, hidden_dim: int = 128) -> None:
        super().__init__()
        self.latent_dim, self.style_dim = latent_dim, style_dim
        self.content_dim = latent_dim - style_dim
        n = n_neurons
        self.encoder = nn.Sequential(
            nn.Linear(n, n), nn.BatchNorm1d(n), nn.ReLU(True),
            nn.Linear(n, hidden_dim), nn.BatchNorm1d(hidden_dim), nn.ReLU(True),
            nn.Linear(hidden_dim, latent_dim + style_dim))
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, hidden_dim), nn.BatchNorm1d(hidden_dim), nn.ReLU(True),
            nn.Linear(hidden_dim, n), nn.BatchNorm1d(n), nn.ReLU(True),
            nn.Linear(n, n), nn.Softplus())
        self.apply(_init)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Content, style mean and style log-variance of samples ``x`` (batch x neurons)."""
        out = self.encoder(x)
        c = self.content_dim
        return out[:, :c], out[:, c:self.latent_dim], out[:, self.latent_dim:]

    def represent(self, x: torch.Tensor) -> torch.Tensor:
        """[content, style mean]: the latents of ``x`` (batch x latent_dim)."""
        return self.encoder(x)[:, : self.latent_dim]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Rates of latents ``z`` = [content, style] (batch x latent_dim)."""
        return self.decoder(z)

    def losses(self, x1: torch.Tensor, x2: torch.Tensor, noise: tuple[torch.Tensor, torch.Tensor]
               ) -> dict[str, torch.Tensor]:
        """The loss terms of one batch of view pairs; ``noise`` are the two standard-normal style draws."""
        c1, mu1, logvar1 = self.encode(x1)
        c2, mu2, logvar2 = self.encode(x2)
        s1 = mu1 + (0.5 * logvar1).exp() * noise[0]
        s2 = mu2 + (0.5 * logvar2).exp() * noise[1]
        swapped = (poisson_nll(x1, self.decode(torch.cat([c2, s1], 1))).mean()
                   + poisson_nll(x2, self.decode(torch.cat([c1, s2], 1))).mean()) / 2
        original = (poisson_nll(x1, self.decode(torch.cat([c1, s1], 1))).mean()
                    + poisson_nll(x2, self.decode(torch.cat([c2, s2], 1))).mean()) / 2
        kl = (style_kl(mu1, logvar1) + style_kl(mu2, logvar2)) / 2
        return {"recon_swap": swapped, "recon_orig": original, "kl": kl, "align": alignment(c1, c2)}


def total_loss(terms: dict[str, torch.Tensor], alpha: float, beta: float) -> torch.Tensor:
    """recon_swap + recon_orig + alpha KL + beta alignment (upstream's ``ablation_type=0``)."""
    return terms["recon_swap"] + terms["recon_orig"] + alpha * terms["kl"] + beta * terms["align"]
