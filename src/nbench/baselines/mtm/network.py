"""The MtM network: NDT1's transformer backbone with per-session stitching, a session token and prompt tokens.

Per session, counts (batch x time x neurons) go through the session's input stitcher (``Linear(neurons ->
stitch_dim)``), a softsign and a shared ``Linear(stitch_dim -> d_model)``, plus a learned absolute position
embedding; a learned session token and (MtM) a learned prompt token of the masking scheme are put in front; the
encoder is NDT's pre-LayerNorm layers (imported from :mod:`nbench.baselines.ndt.model`); a final LayerNorm and the
session's output layer give log-rates. Under the causal scheme, time token t attends to the tokens of bins <= t
and to the special tokens; the special tokens attend only to each other, so no future bin reaches the past.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nbench.baselines.mtm.config import SCHEMES, MTMConfig
from nbench.baselines.ndt.model import Dropout, EncoderLayer

EMBEDDING_INIT_STD = 0.02


def attention_mask(n_special: int, n_bins: int, causal: bool, device: torch.device | None = None) -> torch.Tensor:
    """Boolean (query x key) mask over ``n_special`` special tokens followed by ``n_bins`` time tokens."""
    n = n_special + n_bins
    mask = torch.ones(n, n, dtype=torch.bool, device=device)
    if causal:
        time = torch.arange(n_bins, device=device)
        mask[n_special:, n_special:] = time[None, :] <= time[:, None]
        mask[:n_special, n_special:] = False
    return mask


def module_key(session: str) -> str:
    """A session name usable as a ``ModuleDict`` key (no dots)."""
    return "s_" + session.replace(".", "_")


class MtMNet(nn.Module):
    """MtM over several sessions with different neuron counts.

    Parameters
    ----------
    config
        Architecture settings.
    sessions
        Neuron count of each session, by session name (the order gives the session token index).
    n_bins
        Sequence length (trial bins plus any forward bins).
    """

    def __init__(self, config: MTMConfig, sessions: dict[str, int], n_bins: int) -> None:
        super().__init__()
        config.validate()
        self.config, self.n_bins = config, n_bins
        self.session_index = {name: i for i, name in enumerate(sessions)}
        d = config.d_model
        self.stitch_in = nn.ModuleDict({module_key(s): nn.Linear(n, config.stitch_dim) for s, n in sessions.items()})
        self.embed = nn.Linear(config.stitch_dim, d)
        self.position = nn.Embedding(n_bins, d)
        self.session_token = nn.Embedding(len(sessions), d)
        self.prompt_token = nn.Embedding(len(SCHEMES), d) if config.masking == "mtm" else None
        self.embed_dropout = Dropout(config.dropout_embedding)
        self.layers = nn.ModuleList(EncoderLayer(d, config) for _ in range(config.num_layers))
        self.final_norm = nn.LayerNorm(d)
        self.stitch_out = nn.ModuleDict({module_key(s): nn.Linear(d, n) for s, n in sessions.items()})
        # Learned embeddings start small (std 0.02, not nn.Embedding's 1): at std 1 the position embedding drowns
        # the stitched counts (norm ~sqrt(d_model) against < 1) and training sits on the mean-rate plateau for
        # hundreds of steps (docs/mtm.md).
        for table in (self.position, self.session_token, self.prompt_token):
            if table is not None:
                nn.init.normal_(table.weight, std=EMBEDDING_INIT_STD)

    @property
    def n_special(self) -> int:
        return 2 if self.prompt_token is not None else 1

    def forward(self, counts: torch.Tensor, session: str, scheme: str) -> torch.Tensor:
        """Log-rates (batch x time x neurons of ``session``) under masking scheme ``scheme`` (its prompt and,
        for ``"causal"``, causal attention)."""
        key = module_key(session)
        batch, n_bins, _ = counts.shape
        tokens = self.embed(F.softsign(self.stitch_in[key](counts.float()))) + self.position.weight[:n_bins]
        special = [self.session_token.weight[self.session_index[session]]]
        if self.prompt_token is not None:
            special.append(self.prompt_token.weight[SCHEMES.index(scheme)])
        front = torch.stack(special).expand(batch, -1, -1)
        x = self.embed_dropout(torch.cat([front, tokens], dim=1))
        mask = attention_mask(self.n_special, n_bins, scheme == "causal", counts.device)
        for layer in self.layers:
            x = layer(x, mask)
        return self.stitch_out[key](self.final_norm(x[:, self.n_special:]))
