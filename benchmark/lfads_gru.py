"""An LFADS-style recurrent sequence model, the recurrent anchor for NDT's inference latency.

Bidirectional GRU encoder over the binned spikes -> initial condition of a GRU generator (no controller, no
inputs) unrolled over the trial -> linear factors -> linear log-rates, as LFADS without its controller.
"""

from __future__ import annotations

import torch
from torch import nn


class LFADSLikeGRU(nn.Module):
    """Spikes (batch x time x neurons) -> log-rates of the same shape through encoder, generator, factors."""

    def __init__(self, n_neurons: int, encoder_size: int = 200, generator_size: int = 256, n_factors: int = 40
                 ) -> None:
        super().__init__()
        self.encoder = nn.GRU(n_neurons, encoder_size, batch_first=True, bidirectional=True)
        self.to_initial = nn.Linear(2 * encoder_size, generator_size)
        self.generator = nn.GRU(1, generator_size, batch_first=True)
        self.factors = nn.Linear(generator_size, n_factors)
        self.readout = nn.Linear(n_factors, n_neurons)

    def forward(self, spikes: torch.Tensor) -> torch.Tensor:
        _, final = self.encoder(spikes)  # 2 x batch x encoder_size: last state of each direction
        g0 = torch.tanh(self.to_initial(torch.cat([final[0], final[1]], dim=-1))).unsqueeze(0)
        no_input = spikes.new_zeros(spikes.shape[0], spikes.shape[1], 1)
        states, _ = self.generator(no_input, g0)
        return self.readout(self.factors(states))
