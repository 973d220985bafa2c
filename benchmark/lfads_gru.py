"""An LFADS-style recurrent sequence model, the recurrent anchor for NDT's inference latency.

Bidirectional GRU encoder over the binned spikes -> initial condition of a GRU generator (no controller, no
inputs) unrolled over the trial -> linear factors -> linear log-rates, as LFADS without its controller.
``step_by_step=True`` unrolls the generator with ``GRUCell`` one bin at a time, as LFADS must when a controller
feeds the generator (its input at t depends on the factors at t - 1); the default uses the fused ``nn.GRU``.
"""

from __future__ import annotations

import torch
from torch import nn


class LFADSLikeGRU(nn.Module):
    """Spikes (batch x time x neurons) -> log-rates of the same shape through encoder, generator, factors."""

    def __init__(self, n_neurons: int, encoder_size: int = 200, generator_size: int = 256, n_factors: int = 40,
                 step_by_step: bool = False) -> None:
        super().__init__()
        self.step_by_step = step_by_step
        self.encoder = nn.GRU(n_neurons, encoder_size, batch_first=True, bidirectional=True)
        self.to_initial = nn.Linear(2 * encoder_size, generator_size)
        self.generator = nn.GRU(1, generator_size, batch_first=True)
        self.cell = nn.GRUCell(1, generator_size)
        self.cell.load_state_dict({k[:-3]: v for k, v in self.generator.state_dict().items()})  # same weights
        self.factors = nn.Linear(generator_size, n_factors)
        self.readout = nn.Linear(n_factors, n_neurons)

    def forward(self, spikes: torch.Tensor) -> torch.Tensor:
        _, final = self.encoder(spikes)  # 2 x batch x encoder_size: last state of each direction
        g = torch.tanh(self.to_initial(torch.cat([final[0], final[1]], dim=-1)))
        no_input = spikes.new_zeros(spikes.shape[0], spikes.shape[1], 1)
        if self.step_by_step:
            states = []
            for t in range(spikes.shape[1]):
                g = self.cell(no_input[:, t], g)
                states.append(g)
            generated = torch.stack(states, dim=1)
        else:
            generated, _ = self.generator(no_input, g.unsqueeze(0))
        return self.readout(self.factors(generated))

    def parameter_count(self) -> int:
        """Parameters used by the forward pass (the cell duplicates the fused generator's weights)."""
        skip = self.generator if self.step_by_step else self.cell
        return sum(p.numel() for p in self.parameters()) - sum(p.numel() for p in skip.parameters())
