"""Latent branch heads: selected ViT latents ``[B, K, D]`` → latent vector ``[B, latent_out_dim]``
(docs/method.md#latent-head).

- :class:`PaperLatentMLP` — the official head [C: networks/OURS.py `hh_layer*`]: the K·D flattened latents through
  Linear layers with BatchNorm1d after every second one and no activations (≈455 M parameters at K=78, D=512).
  It reads latents by *slot*: with ``"cam"`` selection slot j is the j-th selected patch in raster order, which is a
  different patch for different images.
- :class:`AttentionLatentHead` — our efficient head (not in the paper): LayerNorm, plus a learned embedding of each
  token's patch position, then one learned query attending over the K tokens, LayerNorm, Linear → out. It knows
  where each token comes from, works for any K, and has ≈1.3 M parameters at D=512 (N=196, out 256, 8 heads). Its
  output is a weighted mean of the tokens, which loses which feature sat where
  (docs/RESULTS.md#why-the-goals-are-not-met).
- :class:`GridLatentHead` — ours too: each token LayerNorm'd and reduced to a few features, placed back at its patch
  position in an otherwise zero N-position grid, and the whole grid read by one Linear → BatchNorm1d. It reads a
  feature per position, as the paper's MLP reads one per slot, works for any K, and has ≈0.4 M parameters at D=512
  (N=196, 8 features per patch, out 256).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers.activations import ACT2FN


class PaperLatentMLP(nn.Module):
    """Official linear MLP: Linear(K·D → d1) → Linear(d1 → d2) → BN1d(d2) → Linear(d2 → d3) → Linear(d3 → d4) →
    BN1d(d4), i.e. BatchNorm1d after every second Linear; ``activation`` (default none) after each hidden Linear.

    ``forward(selected [B, K, D], indices [B, K])`` → ``[B, dims[-1]]`` (indices unused: the MLP reads slots).
    """

    def __init__(self, in_features: int, dims: list[int], activation: str | None = None):
        super().__init__()
        layers: list[nn.Module] = []
        width = in_features
        for position, out_width in enumerate(dims):
            layers.append(nn.Linear(width, out_width))
            if position % 2 == 1:
                layers.append(nn.BatchNorm1d(out_width))
            if activation is not None and position < len(dims) - 1:
                layers.append(ACT2FN[activation])
            width = out_width
        self.layers = nn.Sequential(*layers)
        self.in_features = in_features

    def forward(self, selected: torch.Tensor, indices: torch.Tensor | None = None) -> torch.Tensor:
        flat = selected.flatten(1)
        if flat.shape[1] != self.in_features:
            raise ValueError(
                f"the paper latent MLP expects K*D = {self.in_features} flattened latent values, "
                f"got {flat.shape[1]} (selected latents of shape {list(selected.shape)})"
            )
        return self.layers(flat)


class AttentionLatentHead(nn.Module):
    """Attention pooling over the selected latents (our design).

    tokens = LayerNorm(selected) + position_embeddings[indices]; one learned query attends over the K tokens
    (``nn.MultiheadAttention``, batch-first) → LayerNorm → Linear(D → out) → BatchNorm1d when ``output_batchnorm``
    (as the paper MLP's last layer: each output feature's variation across faces at unit scale).
    ``forward(selected [B, K, D], indices [B, K] long)`` → ``[B, out_dim]``.
    """

    def __init__(
        self,
        latent_dim: int,
        num_patches: int,
        out_dim: int,
        num_heads: int = 8,
        dropout: float = 0.0,
        output_batchnorm: bool = False,
    ):
        super().__init__()
        self.input_norm = nn.LayerNorm(latent_dim)
        self.position_embeddings = nn.Parameter(torch.zeros(num_patches, latent_dim))
        self.query = nn.Parameter(torch.zeros(1, 1, latent_dim))
        self.attention = nn.MultiheadAttention(latent_dim, num_heads, dropout=dropout, batch_first=True)
        self.output_norm = nn.LayerNorm(latent_dim)
        self.projection = nn.Linear(latent_dim, out_dim)
        self.output_batchnorm = nn.BatchNorm1d(out_dim) if output_batchnorm else nn.Identity()

    def forward(self, selected: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        # F.embedding, not position_embeddings[indices]: the same rows, but the indexing's backward adds into the
        # table in parallel on CPU threads in no fixed order, so a seeded run would not repeat bit for bit. Looked up
        # in [K, B] order because the attention hands the gradient back in that layout: its rows then add up in the
        # order the indexing used on one thread (a one-thread run repeats the weights it gave, tested)
        positions = F.embedding(indices.T, self.position_embeddings).transpose(0, 1)
        tokens = self.input_norm(selected) + positions.to(selected.dtype)
        query = self.query.expand(selected.shape[0], -1, -1).to(selected.dtype)
        pooled, _ = self.attention(query, tokens, tokens, need_weights=False)
        return self.output_batchnorm(self.projection(self.output_norm(pooled[:, 0])))


class GridLatentHead(nn.Module):
    """The selected latents read position by position (our design).

    LayerNorm(selected) → Linear(D → ``grid_dim``) per token → scattered to its patch index in a zero ``[N,
    grid_dim]`` grid (unselected positions stay 0) → flattened → Linear(N·grid_dim → out) → BatchNorm1d.
    ``forward(selected [B, K, D], indices [B, K] long)`` → ``[B, out_dim]``.
    """

    def __init__(self, latent_dim: int, num_patches: int, out_dim: int, grid_dim: int = 8):
        super().__init__()
        self.num_patches, self.grid_dim = num_patches, grid_dim
        self.input_norm = nn.LayerNorm(latent_dim)
        self.reduce = nn.Linear(latent_dim, grid_dim)
        self.projection = nn.Linear(num_patches * grid_dim, out_dim)
        self.output_norm = nn.BatchNorm1d(out_dim)

    def forward(self, selected: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        features = self.reduce(self.input_norm(selected))
        grid = features.new_zeros(selected.shape[0], self.num_patches, self.grid_dim)
        grid = grid.scatter(1, indices.unsqueeze(-1).expand(-1, -1, self.grid_dim), features)
        return self.output_norm(self.projection(grid.flatten(1)))
