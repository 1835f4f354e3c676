#!/usr/bin/env python3
"""HF transformers' Hy3 (HYV3ForCausalLM) as the reference for the engine's model, on the CPU.

  checkpoint OUT SEED CONFIG_JSON
      writes a random Hy3 checkpoint in the released on-disk layout (per-expert keys,
      mlp.router.gate, mlp.expert_bias, mlp.shared_mlp, the MTP block's tensors after the last
      layer) with the config fields CONFIG_JSON sets over a small base; the expert bias is random
      (non-zero), so selection-only bias is exercised.
  forward CHECKPOINT INPUT OUT DTYPE [--follow-route-norm] [--plant bias-in-weights]
      runs transformers' model (eager attention, eager experts) on INPUT (safetensors with
      input_ids, labels) and writes logits, loss (mean over label tokens, as HF's) and
      grad.<on-disk key> for every parameter (fp32 only), HF's fused expert gradients split back per expert;
      prints the keys HF reported missing or unexpected (the MTP block's left out).
      --follow-route-norm: HF renormalises the top-k weights whatever `route_norm` says; with this
      its router skips that when the config says false (NeMo AutoModel's reading, and ours).
      --plant bias-in-weights: a planted error, the expert bias added to the combine weights too
      (the comparison must then fail).
  resave CHECKPOINT OUT
      transformers' from_pretrained then save_pretrained, in the checkpoint's dtype (its own
      checkpoint conversion both ways).
  train CHECKPOINT BATCHES EVENTS OUT SETTINGS_JSON
      full fine-tuning in plain PyTorch: transformers' model, torch.optim.AdamW, the micro-batches
      `hy3 train --save-batches` wrote to BATCHES, the learning rate of each step from its EVENTS
      (--events jsonl), each micro-batch's summed cross-entropy divided by the global batch's label
      tokens, clip_grad_norm_, and the expert-bias update (bias += f * sign(mean(load) - load) over
      the step's real tokens). SETTINGS_JSON: weight_decay, betas, eps, grad_clip, bias_update.
      Writes the final weights to OUT/model.safetensors (on-disk keys) and prints each step's loss
      and gradient norm.
  peft-forward CHECKPOINT ADAPTER INPUT OUT
      PEFT's PeftModel.from_pretrained of ADAPTER on transformers' model: writes the logits, and
      prints the adapter file's keys PEFT did not use (each file tensor must equal one of PEFT's
      loaded adapter tensors) and how many fused expert parameters PEFT adapted.
  peft-write CHECKPOINT OUT SEED [TARGETS]
      a PEFT LoRA adapter (rank 8, alpha 16; TARGETS, default every module, on attention, MLPs and
      shared experts by target_modules, on the routed experts by target_parameters) with random A
      and B, saved by PEFT's save_pretrained.
  rename-key ADAPTER OUT
      a copy of ADAPTER with one routed-expert key misspelt (a planted error).
  train-lora CHECKPOINT ADAPTER BATCHES EVENTS OUT SETTINGS_JSON
      the same with PEFT's LoRA: PeftModel.from_pretrained(ADAPTER, is_trainable=True) on
      transformers' model, its trainable tensors only; PEFT's save_pretrained of the result to OUT.
  bench CONFIG SEQ BATCH THREADS ITERATIONS ATTENTION EXPERTS
      transformers' model of CONFIG (random weights, fp32) on random full rows: the median
      forward+backward and whole AdamW step (clipping included) in ms, after two warm-up steps,
      with attn_implementation ATTENTION and experts_implementation EXPERTS.
  same-tensors A B
      which tensors two model directories hold only one of, and which differ in any byte.
  weights A B
      the largest difference between two model directories' common tensors (|a - b|max / |b|max,
      the worst key) and the keys only one holds.
  swap-experts CHECKPOINT OUT LAYER A B
      a copy of CHECKPOINT with two routed experts' weights exchanged (a planted error).
  compare OURS THEIRS
      prints the largest differences of two such files as JSON: logits (absolute and relative to
      the largest logit), loss (relative, when both have one), gradients (per key |a - b|max / |b|max, the worst key).
"""
import glob
import json
import os
import shutil
import sys

import torch
from safetensors.torch import load_file, save_file

BASE_CONFIG = {
    "architectures": ["HYV3ForCausalLM"], "model_type": "hy_v3", "vocab_size": 320, "hidden_size": 48,
    "intermediate_size": 96, "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 2,
    "head_dim": 16, "hidden_act": "silu", "max_position_embeddings": 4096, "rms_norm_eps": 1e-5,
    "num_experts": 8, "num_experts_per_tok": 2, "num_shared_experts": 1, "moe_intermediate_size": 32,
    "router_scaling_factor": 2.826, "route_norm": True, "first_k_dense_replace": 1,
    "moe_router_use_sigmoid": True, "moe_router_enable_expert_bias": True,
    "rope_parameters": {"rope_theta": 11158840.0, "rope_type": "default"}, "tie_word_embeddings": False,
    "attention_bias": False, "num_nextn_predict_layers": 1, "bos_token_id": 1, "eos_token_id": 2,
    "pad_token_id": 0, "dtype": "float32", "qk_norm": True,
}


def dense_layers(config):
    types = config.get("mlp_layer_types")
    if types:
        return [t == "dense" for t in types]
    return [i < config["first_k_dense_replace"] for i in range(config["num_hidden_layers"])]


def layer_tensors(prefix, config, dense, gen):
    H, F, E = config["hidden_size"], config["moe_intermediate_size"], config["num_experts"]
    heads, kv, d = config["num_attention_heads"], config["num_key_value_heads"], config["head_dim"]
    def matrix(rows, cols):
        return torch.randn(rows, cols, generator=gen) * 0.05
    def norm(n):
        return 1 + 0.1 * torch.randn(n, generator=gen)
    t = {
        f"{prefix}.input_layernorm.weight": norm(H), f"{prefix}.post_attention_layernorm.weight": norm(H),
        f"{prefix}.self_attn.q_proj.weight": matrix(heads * d, H), f"{prefix}.self_attn.k_proj.weight": matrix(kv * d, H),
        f"{prefix}.self_attn.v_proj.weight": matrix(kv * d, H), f"{prefix}.self_attn.o_proj.weight": matrix(H, heads * d),
        f"{prefix}.self_attn.q_norm.weight": norm(d), f"{prefix}.self_attn.k_norm.weight": norm(d),
    }
    if dense:
        I = config["intermediate_size"]
        t.update({f"{prefix}.mlp.gate_proj.weight": matrix(I, H), f"{prefix}.mlp.up_proj.weight": matrix(I, H),
                  f"{prefix}.mlp.down_proj.weight": matrix(H, I)})
        return t
    t[f"{prefix}.mlp.router.gate.weight"] = matrix(E, H) * 4
    t[f"{prefix}.mlp.expert_bias"] = torch.randn(E, generator=gen) * 0.05
    for e in range(E):
        t.update({f"{prefix}.mlp.experts.{e}.gate_proj.weight": matrix(F, H), f"{prefix}.mlp.experts.{e}.up_proj.weight": matrix(F, H),
                  f"{prefix}.mlp.experts.{e}.down_proj.weight": matrix(H, F)})
    S = F * config["num_shared_experts"]
    t.update({f"{prefix}.mlp.shared_mlp.gate_proj.weight": matrix(S, H), f"{prefix}.mlp.shared_mlp.up_proj.weight": matrix(S, H),
              f"{prefix}.mlp.shared_mlp.down_proj.weight": matrix(H, S)})
    return t


def checkpoint(args):
    out, seed, overrides = args[0], int(args[1]), json.loads(args[2])
    config = dict(BASE_CONFIG, **overrides)
    gen = torch.Generator().manual_seed(seed)
    H, V, L = config["hidden_size"], config["vocab_size"], config["num_hidden_layers"]
    tensors = {"model.embed_tokens.weight": torch.randn(V, H, generator=gen) * 0.5,
               "lm_head.weight": torch.randn(V, H, generator=gen) * 0.1,
               "model.norm.weight": 1 + 0.1 * torch.randn(H, generator=gen)}
    for i, dense in enumerate(dense_layers(config)):
        tensors.update(layer_tensors(f"model.layers.{i}", config, dense, gen))
    for m in range(config.get("num_nextn_predict_layers", 0)):  # the MTP block: HF ignores it, so do we
        prefix = f"model.layers.{L + m}"
        tensors.update(layer_tensors(prefix, config, False, gen))
        tensors.update({f"{prefix}.eh_proj.weight": torch.randn(H, 2 * H, generator=gen) * 0.05,
                        f"{prefix}.enorm.weight": torch.ones(H), f"{prefix}.hnorm.weight": torch.ones(H),
                        f"{prefix}.final_layernorm.weight": torch.ones(H)})
    os.makedirs(out, exist_ok=True)
    save_file({k: v.contiguous() for k, v in tensors.items()}, f"{out}/model.safetensors", metadata={"format": "pt"})
    with open(f"{out}/config.json", "w") as f:
        json.dump(config, f, indent=2)
    return {"tensors": len(tensors)}


def on_disk(named):
    """(name, tensor) pairs by transformers' names -> the released checkpoint's key names: the
    fused experts split per expert, router.gate, expert_bias, shared_mlp."""
    out = {}
    for name, t in named:
        t = t.detach().float()
        if name.endswith("mlp.experts.gate_up_proj"):
            prefix, F = name[: -len("gate_up_proj")], t.shape[1] // 2
            for e in range(t.shape[0]):
                out[f"{prefix}{e}.gate_proj.weight"], out[f"{prefix}{e}.up_proj.weight"] = t[e, :F], t[e, F:]
        elif name.endswith("mlp.experts.down_proj"):
            for e in range(t.shape[0]):
                out[f"{name[: -len('down_proj')]}{e}.down_proj.weight"] = t[e]
        elif name.endswith("e_score_correction_bias"):
            out[name.replace("mlp.e_score_correction_bias", "mlp.expert_bias")] = t
        elif "rotary_emb" not in name:
            out[name.replace("mlp.gate.weight", "mlp.router.gate.weight").replace("mlp.shared_experts.", "mlp.shared_mlp.")] = t
    return {k: v.contiguous() for k, v in out.items()}


def on_disk_gradients(model):
    """Every parameter's gradient under the released checkpoint's key names."""
    return on_disk((name, p.grad) for name, p in model.named_parameters() if p.grad is not None)


def patch_router(follow_route_norm, bias_in_weights):
    """Replaces HF's router forward by the same computation with our reading of `route_norm`, or
    with a planted error. Without either flag HF's own code runs."""
    if not follow_route_norm and not bias_in_weights:
        return
    import torch.nn.functional as F
    from transformers.models.hy_v3 import modeling_hy_v3 as hf

    def forward(self, hidden_states, e_score_correction_bias):
        hidden_states = hidden_states.reshape(-1, self.hidden_dim)
        router_logits = F.linear(hidden_states.float(), self.weight.float())
        routing_weights = torch.sigmoid(router_logits)
        scores_for_choice = routing_weights + e_score_correction_bias
        _, top_k_index = torch.topk(scores_for_choice, self.top_k, dim=-1, sorted=False)
        top_k_weights = (scores_for_choice if bias_in_weights else routing_weights).gather(1, top_k_index)
        if self.route_norm:
            top_k_weights = top_k_weights / (top_k_weights.sum(dim=-1, keepdim=True) + 1e-20)
        return router_logits, top_k_weights * self.router_scaling_factor, top_k_index

    init = hf.HYV3TopKRouter.__init__

    def patched_init(self, config):
        init(self, config)
        self.route_norm = getattr(config, "route_norm", True) if follow_route_norm else True

    hf.HYV3TopKRouter.__init__ = patched_init
    hf.HYV3TopKRouter.forward = forward


def forward(args):
    from transformers import AutoModelForCausalLM
    ckpt, input_file, out, dtype = args[0], args[1], args[2], args[3]
    plant = args[args.index("--plant") + 1] if "--plant" in args else None
    patch_router("--follow-route-norm" in args, plant == "bias-in-weights")
    torch_dtype = torch.float32 if dtype == "fp32" else torch.bfloat16
    model, info = AutoModelForCausalLM.from_pretrained(ckpt, dtype=torch_dtype, attn_implementation="eager",
                                                       experts_implementation="eager", output_loading_info=True)
    model.train()  # no dropout in Hy3; gradients on
    batch = load_file(input_file)
    result = model(input_ids=batch["input_ids"], labels=batch["labels"])
    tensors = {"logits": result.logits.detach().float().contiguous(), "loss": result.loss.detach().float().reshape(())}
    if dtype == "fp32":  # bf16 is compared by its logits and loss only
        result.loss.backward()
        tensors.update({f"grad.{k}": v.contiguous() for k, v in on_disk_gradients(model).items()})
    save_file(tensors, out)
    layers = model.config.num_hidden_layers
    def outside_mtp(keys):  # the MTP block's layers come after the last decoder layer: HF has none
        return sorted(k for k in keys if not any(k.startswith(f"model.layers.{layers + m}.") for m in range(8)))
    return {"grads": len(tensors) - 2, "missing": outside_mtp(info["missing_keys"]),
            "unexpected": outside_mtp(info["unexpected_keys"])}


def on_disk_weights(model):
    """Every parameter and expert bias under the released checkpoint's key names."""
    return on_disk(list(model.named_parameters()) + list(model.named_buffers()))


def step_learning_rates(events_file):
    lr = {}
    for line in open(events_file):
        if line.startswith("{"):
            event = json.loads(line)
            if event.get("event") == "step":
                lr[event["step"]] = event["lr"]
    return lr


def train_loop(model, trainable, batch_dir, events_file, settings):
    """The steps hy3 took, in plain PyTorch: AdamW (decay on matrices that are no norm or bias),
    each micro-batch's summed cross-entropy over the global batch's label tokens, clipping, and the
    expert-bias update over the step's real tokens."""
    import torch.nn.functional as F
    model.train()
    decays = [p for n, p in trainable if p.dim() > 1 and "bias" not in n and "norm" not in n]
    rest = [p for n, p in trainable if not (p.dim() > 1 and "bias" not in n and "norm" not in n)]
    optimizer = torch.optim.AdamW([{"params": decays, "weight_decay": settings["weight_decay"]}, {"params": rest, "weight_decay": 0.0}],
                                  lr=0.0, betas=tuple(settings["betas"]), eps=settings["eps"])
    # The expert load of the step, counted on the real tokens of each forward.
    routers = [m for m in model.modules() if type(m).__name__ == "HYV3MoE"]
    load = {id(r.gate): torch.zeros(r.e_score_correction_bias.numel(), dtype=torch.long) for r in routers}
    real = {"mask": None}

    def count(gate, _inputs, output):
        load[id(gate)] += torch.bincount(output[2][real["mask"]].flatten(), minlength=load[id(gate)].numel())
    for r in routers:
        r.gate.register_forward_hook(count)

    lr, steps = step_learning_rates(events_file), []
    for step in sorted(lr):
        files = sorted(glob.glob(f"{batch_dir}/step-{step:06d}-rank-0-micro-*.safetensors"), key=lambda f: int(f.rsplit("-", 1)[1].split(".")[0]))
        batches = [load_file(f) for f in files]
        labels_of = [b["labels"][:, 1:] for b in batches]
        global_labels = sum(int((l != -100).sum()) for l in labels_of)
        for g in optimizer.param_groups:
            g["lr"] = lr[step]
        total = 0.0
        for b, labels in zip(batches, labels_of):
            mask = b.get("attention_mask")
            real["mask"] = (mask if mask is not None else torch.ones_like(b["input_ids"])).flatten().bool()
            logits = model(input_ids=b["input_ids"], attention_mask=mask).logits
            loss_sum = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100, reduction="sum")
            (loss_sum / global_labels).backward()
            total += loss_sum.item()
        norm = torch.nn.utils.clip_grad_norm_([p for _, p in trainable], settings["grad_clip"]).item()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        with torch.no_grad():
            for r in routers:
                counts = load[id(r.gate)].double()
                r.e_score_correction_bias += settings["bias_update"] * torch.sign(counts.mean() - counts).float()
                load[id(r.gate)].zero_()
        steps.append({"step": step, "loss": total / global_labels, "grad_norm": norm})
    return steps


def train(args):
    ckpt, batch_dir, events_file, out, settings = args[0], args[1], args[2], args[3], json.loads(args[4])
    model = load_model(ckpt)
    steps = train_loop(model, list(model.named_parameters()), batch_dir, events_file, settings)
    os.makedirs(out, exist_ok=True)
    save_file(on_disk_weights(model), f"{out}/model.safetensors")
    return {"steps": steps}


def train_lora(args):
    from peft import PeftModel
    ckpt, adapter, batch_dir, events_file, out, settings = args[0], args[1], args[2], args[3], args[4], json.loads(args[5])
    model = PeftModel.from_pretrained(load_model(ckpt), adapter, is_trainable=True)
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    steps = train_loop(model, trainable, batch_dir, events_file, settings)
    model.save_pretrained(out)
    return {"steps": steps, "trainable": sum(p.numel() for _, p in trainable)}


def load_model(ckpt):
    from transformers import AutoModelForCausalLM
    return AutoModelForCausalLM.from_pretrained(ckpt, dtype=torch.float32, attn_implementation="eager", experts_implementation="eager")


def peft_forward(args):
    from peft import PeftModel, get_peft_model_state_dict
    ckpt, adapter, input_file, out = args
    model = PeftModel.from_pretrained(load_model(ckpt), adapter)
    loaded = {k.replace(".mlp.shared_experts.", ".mlp.shared_mlp."): v for k, v in get_peft_model_state_dict(model).items()}
    unused = []
    for key, t in load_file(f"{adapter}/adapter_model.safetensors").items():
        key = key.replace(".mlp.shared_experts.", ".mlp.shared_mlp.")
        if key not in loaded or loaded[key].shape != t.shape or not torch.equal(loaded[key].float(), t.float()):
            unused.append(key)
    wrapped = sum(1 for _, m in model.named_modules() if type(m).__name__ == "ParamWrapper")
    with torch.no_grad():
        logits = model(input_ids=load_file(input_file)["input_ids"]).logits
    save_file({"logits": logits.float().contiguous()}, out)
    return {"unused": sorted(unused), "expert_parameters_adapted": wrapped}


def peft_write(args):
    from peft import LoraConfig, get_peft_model
    ckpt, out, seed = args[0], args[1], int(args[2])
    targets = args[3].split(",") if len(args) > 3 else ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    parameters = (["mlp.experts.gate_up_proj"] if "gate_proj" in targets or "up_proj" in targets else []) + \
                 (["mlp.experts.down_proj"] if "down_proj" in targets else [])
    config = LoraConfig(r=8, lora_alpha=16, target_modules=targets, target_parameters=parameters)
    model = get_peft_model(load_model(ckpt), config)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_" in name:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.05)
    model.save_pretrained(out)
    return {"keys": len(load_file(f"{out}/adapter_model.safetensors"))}


def rename_key(args):
    adapter, out = args
    shutil.copytree(adapter, out)
    tensors = load_file(f"{out}/adapter_model.safetensors")
    key = next(k for k in sorted(tensors) if ".mlp.experts." in k)
    tensors[key.replace(".mlp.experts.", ".mlp.expert.")] = tensors.pop(key)
    save_file(tensors, f"{out}/adapter_model.safetensors")
    return {"renamed": key}


def bench(args):
    import time
    from transformers import AutoConfig, AutoModelForCausalLM
    config_file, seq, batch, threads, iterations, attention, experts = args[0], int(args[1]), int(args[2]), int(args[3]), int(args[4]), args[5], args[6]
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    fields = json.load(open(config_file))
    config = AutoConfig.for_model(fields.pop("model_type"), **fields)
    model = AutoModelForCausalLM.from_config(config, attn_implementation=attention, experts_implementation=experts, dtype=torch.float32)
    model.train()
    ids = torch.randint(config.vocab_size, (batch, seq))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, betas=(0.9, 0.95), weight_decay=0.01)

    def forward_backward():
        model(input_ids=ids, labels=ids).loss.backward()

    def step():
        forward_backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def median_ms(fn):
        for _ in range(2):
            fn()
        times = []
        for _ in range(iterations):
            start = time.perf_counter()
            fn()
            times.append((time.perf_counter() - start) * 1e3)
            optimizer.zero_grad(set_to_none=True)
        return sorted(times)[len(times) // 2]
    tokens = batch * seq
    fb, st = median_ms(forward_backward), median_ms(step)
    return {"transformers": __import__("transformers").__version__, "torch": torch.__version__, "threads": threads,
            "attention": attention, "experts": experts, "forward_backward_ms": fb, "step_ms": st,
            "tokens_per_s_forward_backward": tokens / (fb / 1e3), "tokens_per_s_step": tokens / (st / 1e3)}


def resave(args):
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(args[0], dtype="auto")  # the checkpoint's own dtypes
    model.save_pretrained(args[1])
    return {"tensors": len(all_tensors(args[1]))}


def all_tensors(folder):
    """Every tensor of a model or adapter directory; transformers' shared_experts named as on disk."""
    tensors = {}
    for f in sorted(glob.glob(f"{folder}/*.safetensors")):
        tensors.update({k.replace(".mlp.shared_experts.", ".mlp.shared_mlp."): v for k, v in load_file(f).items()})
    return tensors


def same_tensors(args):
    a, b = all_tensors(args[0]), all_tensors(args[1])
    different = sorted(k for k in a.keys() & b.keys() if a[k].dtype != b[k].dtype or a[k].shape != b[k].shape or not torch.equal(a[k], b[k]))
    return {"only_a": sorted(a.keys() - b.keys()), "only_b": sorted(b.keys() - a.keys()), "different": different,
            "common": len(a.keys() & b.keys())}


def weights(args):
    a, b = all_tensors(args[0]), all_tensors(args[1])
    worst, worst_key = 0.0, ""
    for k in a.keys() & b.keys():
        x, y = a[k].double(), b[k].double()
        rel = ((x - y).abs().max() / y.abs().max().clamp_min(1e-30)).item()
        if rel > worst:
            worst, worst_key = rel, k
    return {"max_rel": worst, "worst_key": worst_key, "common": len(a.keys() & b.keys()),
            "only_a": sorted(a.keys() - b.keys()), "only_b": sorted(b.keys() - a.keys())}


def swap_experts(args):
    ckpt, out, layer, a, b = args[0], args[1], int(args[2]), int(args[3]), int(args[4])
    os.makedirs(out, exist_ok=True)
    shutil.copy(f"{ckpt}/config.json", f"{out}/config.json")
    tensors = all_tensors(ckpt)
    for proj in ("gate_proj", "up_proj", "down_proj"):
        ka, kb = f"model.layers.{layer}.mlp.experts.{a}.{proj}.weight", f"model.layers.{layer}.mlp.experts.{b}.{proj}.weight"
        tensors[ka], tensors[kb] = tensors[kb], tensors[ka]
    save_file(tensors, f"{out}/model.safetensors", metadata={"format": "pt"})
    return {"swapped": [a, b]}


def compare(args):
    ours, theirs = load_file(args[0]), load_file(args[1])
    a, b = ours["logits"].double(), theirs["logits"].double()
    out = {"logits_max_abs": (a - b).abs().max().item(),
           "logits_max_rel": ((a - b).abs().max() / b.abs().max()).item(),
           "logits_rel_norm": ((a - b).norm() / b.norm()).item()}
    if "loss" in ours and "loss" in theirs:
        out["loss_rel"] = abs(ours["loss"].item() - theirs["loss"].item()) / abs(theirs["loss"].item())
    grad_keys = sorted(k for k in theirs if k.startswith("grad."))
    if not grad_keys:  # logits and loss only (bf16)
        return out
    missing = [k for k in grad_keys if k not in ours]
    extra = sorted(k for k in ours if k.startswith("grad.") and k not in theirs)
    worst, worst_key = 0.0, ""
    for k in grad_keys:
        if k in ours:
            g, h = ours[k].double(), theirs[k].double()
            rel = ((g - h).abs().max() / h.abs().max().clamp_min(1e-30)).item()
            if rel > worst:
                worst, worst_key = rel, k
    out.update({"grads_compared": len(grad_keys) - len(missing), "grads_missing": missing, "grads_extra": extra,
                "grads_max_rel": worst, "grads_worst_key": worst_key})
    return out


def main():
    command, args = sys.argv[1], sys.argv[2:]
    commands = {"checkpoint": checkpoint, "forward": forward, "compare": compare, "swap-experts": swap_experts, "resave": resave, "same-tensors": same_tensors, "train": train, "train-lora": train_lora, "weights": weights, "bench": bench,
                "peft-forward": peft_forward, "peft-write": peft_write, "rename-key": rename_key}
    print(json.dumps(commands[command](args)))


if __name__ == "__main__":
    main()
