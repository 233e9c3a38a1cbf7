"""The DRAW core: plain PyTorch, no Lightning, Hydra or W&B."""

from draw_lightning.models.attention import AttentionParams, filterbank, filterbanks, read_attentive, write_attentive
from draw_lightning.models.draw import DRAW, DRAWConfig, DrawOutput, DrawTrace, kl_standard_normal, nats_to_bits_per_dim
from draw_lightning.models.iwae import iwae_log_weights, iwae_nll

__all__ = [
    "DRAW",
    "DRAWConfig",
    "AttentionParams",
    "DrawOutput",
    "DrawTrace",
    "filterbank",
    "filterbanks",
    "iwae_log_weights",
    "iwae_nll",
    "kl_standard_normal",
    "nats_to_bits_per_dim",
    "read_attentive",
    "write_attentive",
]
