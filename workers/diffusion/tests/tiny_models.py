"""Tiny random-weight LTX and Wan pipelines, built in code and saved like real models.

Configs follow the upstream diffusers tests (tests/pipelines/{ltx,wan}) with the hub-only
pieces replaced: the T5 tokenizer is built from a vocabulary list and the text encoders
from a config, so nothing is downloaded. Each model is a few hundred kB.
"""

from __future__ import annotations

import os
import string
from pathlib import Path

import torch
from diffusers import (
    AutoencoderKLLTXVideo,
    AutoencoderKLWan,
    FlowMatchEulerDiscreteScheduler,
    LTXPipeline,
    LTXVideoTransformer3DModel,
    UniPCMultistepScheduler,
    WanPipeline,
    WanTransformer3DModel,
)
from transformers import T5Config, T5EncoderModel, T5Tokenizer, UMT5Config, UMT5EncoderModel
from transformers.utils import logging as transformers_logging

transformers_logging.disable_progress_bar()

TEXT_DIM = 32
WORDS = "a an the cat dog bird runs walks flies on in at beach sea sky city night sunset red blue".split()  # noqa: SIM905, E501


def tokenizer() -> T5Tokenizer:
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -3.0)]
    vocab += [("\u2581" + w, -5.0) for w in WORDS]
    vocab += [(c, -8.0) for c in string.ascii_lowercase + string.digits + string.punctuation]
    return T5Tokenizer(vocab=vocab, extra_ids=0)


def _text_config(vocab_size: int) -> dict[str, int]:
    return {
        "vocab_size": vocab_size,
        "d_model": TEXT_DIM,
        "d_kv": 8,
        "d_ff": 37,
        "num_layers": 2,
        "num_heads": 4,
        "relative_attention_num_buckets": 8,
    }


def _wan_transformer(channels: int) -> WanTransformer3DModel:
    return WanTransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=12,
        in_channels=channels,
        out_channels=channels,
        text_dim=TEXT_DIM,
        freq_dim=256,
        ffn_dim=32,
        num_layers=2,
        cross_attn_norm=True,
        qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32,
    )


def build_wan21() -> WanPipeline:
    """Wan 2.1 shape: 8x VAE, 16 latent channels, UMT5 text encoder."""
    tok = tokenizer()
    torch.manual_seed(0)
    text_encoder = UMT5EncoderModel(UMT5Config(**_text_config(len(tok))))
    torch.manual_seed(0)
    vae = AutoencoderKLWan(
        base_dim=3,
        z_dim=16,
        dim_mult=[1, 1, 1, 1],
        num_res_blocks=1,
        temperal_downsample=[False, True, True],
    )
    torch.manual_seed(0)
    transformer = _wan_transformer(16)
    return WanPipeline(
        tokenizer=tok,
        text_encoder=text_encoder,
        transformer=transformer,
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
    )


def build_wan22_ti2v() -> WanPipeline:
    """Wan 2.2 TI2V-5B shape: 16x VAE with 48 latent channels, timestep-masked first frame."""
    tok = tokenizer()
    torch.manual_seed(0)
    text_encoder = UMT5EncoderModel(UMT5Config(**_text_config(len(tok))))
    torch.manual_seed(0)
    vae = AutoencoderKLWan(
        base_dim=3,
        z_dim=48,
        in_channels=12,
        out_channels=12,
        is_residual=True,
        patch_size=2,
        latents_mean=[0.0] * 48,
        latents_std=[1.0] * 48,
        dim_mult=[1, 1, 1, 1],
        num_res_blocks=1,
        scale_factor_spatial=16,
        scale_factor_temporal=4,
        temperal_downsample=[False, True, True],
    )
    torch.manual_seed(0)
    transformer = _wan_transformer(48)
    scheduler = UniPCMultistepScheduler(
        prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0
    )
    return WanPipeline(
        tokenizer=tok,
        text_encoder=text_encoder,
        transformer=transformer,
        vae=vae,
        scheduler=scheduler,
        expand_timesteps=True,
    )


def build_ltx() -> LTXPipeline:
    """LTX-Video shape. The decoder_* arguments matter: left out, the decoder keeps its
    full-size defaults (a 237M-parameter VAE and the wrong output shape)."""
    tok = tokenizer()
    torch.manual_seed(0)
    text_encoder = T5EncoderModel(T5Config(**_text_config(len(tok))))
    torch.manual_seed(0)
    transformer = LTXVideoTransformer3DModel(
        in_channels=8,
        out_channels=8,
        patch_size=1,
        patch_size_t=1,
        num_attention_heads=4,
        attention_head_dim=8,
        cross_attention_dim=TEXT_DIM,
        num_layers=1,
        caption_channels=TEXT_DIM,
    )
    torch.manual_seed(0)
    vae = AutoencoderKLLTXVideo(
        in_channels=3,
        out_channels=3,
        latent_channels=8,
        block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8),
        layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1, 1),
        spatio_temporal_scaling=(True, True, False, False),
        decoder_spatio_temporal_scaling=(True, True, False, False),
        decoder_inject_noise=(False, False, False, False, False),
        upsample_residual=(False, False, False, False),
        upsample_factor=(1, 1, 1, 1),
        timestep_conditioning=False,
        patch_size=1,
        patch_size_t=1,
        encoder_causal=True,
        decoder_causal=False,
    )
    vae.use_framewise_encoding = False
    vae.use_framewise_decoding = False
    # Saved as plain LTXPipeline, as the older LTX repos are; the worker loads it as
    # LTXConditionPipeline, which must work for real repos too.
    return LTXPipeline(
        tokenizer=tok,
        text_encoder=text_encoder,
        transformer=transformer,
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(),
    )


def save_to_hub_cache(pipe: WanPipeline | LTXPipeline, hf_home: Path, repo_id: str) -> None:
    """Lay the model out as ``hf download`` would, so it loads by repo id with HF_HUB_OFFLINE=1."""
    revision = "0" * 40
    repo_dir = hf_home / "hub" / ("models--" + repo_id.replace("/", "--"))
    pipe.save_pretrained(repo_dir / "snapshots" / revision)
    (repo_dir / "refs").mkdir(parents=True, exist_ok=True)
    (repo_dir / "refs" / "main").write_text(revision)


def save_to_dir(pipe: WanPipeline | LTXPipeline, path: Path) -> None:
    os.makedirs(path, exist_ok=True)
    pipe.save_pretrained(path)
