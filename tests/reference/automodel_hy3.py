#!/usr/bin/env python3
"""NVIDIA NeMo AutoModel's Hy3 (nemo_automodel.components.models.hy_v3) as a reference, on the CPU.

Runs in its own environment (.venv-automodel, scripts/install-deps.sh): AutoModel 0.7.0 pins
transformers 5.18.0; torch comes from the project's .venv.

  forward CHECKPOINT INPUT OUT
      builds HYV3ForCausalLM from CHECKPOINT's config with the pure-torch backend (sdpa attention,
      torch linear, rms_norm and experts, the torch dispatcher), loads the on-disk weights through
      its own state-dict adapter (from_hf), runs INPUT (input_ids, labels) in fp32 and writes
      logits, loss (mean over label tokens, labels shifted as HF does) and grad.<on-disk key> for
      every parameter, mapped back by the adapter's to_hf; prints the keys the load left missing
      or unexpected.
"""
import glob
import json
import sys
import unittest.mock

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file


def forward(args):
    from transformers import AutoConfig
    from nemo_automodel import __version__ as automodel_version
    from nemo_automodel.components.models.common import BackendConfig
    from nemo_automodel.components.models.hy_v3.model import HYV3ForCausalLM

    ckpt, input_file, out = args
    config = AutoConfig.from_pretrained(ckpt)
    backend = BackendConfig(attn="sdpa", linear="torch", rms_norm="torch", rope="torch", experts="torch", dispatcher="torch")
    # What stops it on the CPU: HYV3Model.__init__ builds its RotaryEmbedding with
    # device=torch.device(f"cuda:{torch.cuda.current_device()}") (hy_v3/model.py:172), which raises
    # "Found no NVIDIA driver" without a GPU; AutoModel's own hy_v3 model tests skip without CUDA.
    # The embedding only records that device and computes its tables on first use, so the model is
    # built with current_device answering 0 and the embedding then pointed at the CPU.
    with unittest.mock.patch("torch.cuda.current_device", return_value=0):
        model = HYV3ForCausalLM(config, backend=backend)
    model.model.rotary_emb.device = torch.device("cpu")
    model = model.to(torch.float32)
    on_disk = {}
    for f in sorted(glob.glob(f"{ckpt}/*.safetensors")):
        on_disk.update(load_file(f))
    native = model.state_dict_adapter.from_hf(on_disk)
    result = model.load_state_dict(native, strict=False)
    model.train()
    batch = load_file(input_file)
    logits = model(batch["input_ids"]).logits.float()
    labels = batch["labels"][:, 1:]
    loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100)
    loss.backward()
    grads = {name: p.grad.detach().float() for name, p in model.named_parameters() if p.grad is not None}
    tensors = {"logits": logits.detach().contiguous(), "loss": loss.detach().reshape(())}
    tensors.update({f"grad.{k}": v.contiguous() for k, v in model.state_dict_adapter.to_hf(grads).items()})
    save_file(tensors, out)
    return {"automodel": automodel_version, "grads": len(tensors) - 2, "missing": sorted(result.missing_keys),
            "unexpected": sorted(result.unexpected_keys)}


def main():
    command, args = sys.argv[1], sys.argv[2:]
    print(json.dumps({"forward": forward}[command](args)))


if __name__ == "__main__":
    main()
