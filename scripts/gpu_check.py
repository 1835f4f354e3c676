#!/usr/bin/env python3
"""The comparisons scripts/gpu-check.sh makes, each printing one JSON object on stdout.

  packed OUT FIXTURE DTYPE
      hy3 forward's output on the fixture's packed row against its expected logits.
  forward OUT FIXTURE DTYPE [--hf DEVICE]
      hy3 forward's output file against the fixture's expected logits and loss, and with --hf
      against transformers' HYV3ForCausalLM run on DEVICE in DTYPE from the same checkpoint.
  curve EVENTS REFERENCE
      the losses of `hy3 train --events jsonl` (EVENTS) against a committed curve at its steps.
  table REPORT
      the report's figures as the table gpu-check prints last.

Tolerances: fp32 against the fixture's own (logits 1e-4 absolute, loss 1e-5 relative). bf16 by
the logits' relative norm |a - b| / |b|: against transformers' bf16 model 2e-2 (the two differ by
9.3e-3 on the CPU: bf16 operands, different roundings), against the fp32 fixture 5e-2 (the weights
themselves are rounded to bf16: 2.8e-2 on the CPU), loss 1e-2 relative; curves 1e-3 relative.
"""
import json
import sys

import torch
from safetensors.torch import load_file


def relative_norm(a, b):
    a, b = a.double(), b.double()
    return ((a - b).norm() / b.norm().clamp_min(1e-30)).item()


def compare_logits(name, ours, ref, dtype, bf16_tolerance):
    out = {
        f"{name}_logits_max_abs": (ours.double() - ref.double()).abs().max().item(),
        f"{name}_logits_rel_norm": relative_norm(ours, ref),
    }
    if dtype == "fp32":
        out[f"{name}_ok"] = out[f"{name}_logits_max_abs"] <= 1e-4
    else:
        out[f"{name}_ok"] = out[f"{name}_logits_rel_norm"] <= bf16_tolerance
    return out


def forward(args):
    out_file, fixture, dtype = args[0], args[1], args[2]
    hf_device = args[4] if len(args) > 4 and args[3] == "--hf" else None
    ours = load_file(out_file)
    case = load_file(f"{fixture}/case_batch.safetensors")
    result = {"dtype": dtype}
    result.update(compare_logits("expected", ours["logits"], case["logits"], dtype, 5e-2))
    loss_rel = abs(ours["loss"].item() - case["loss"].item()) / abs(case["loss"].item())
    result["expected_loss_rel"] = loss_rel
    result["expected_ok"] = result["expected_ok"] and loss_rel <= (1e-5 if dtype == "fp32" else 1e-2)
    if hf_device:
        try:
            from transformers import AutoModelForCausalLM
            import transformers
        except Exception as e:  # noqa: BLE001 - reported, not hidden
            result["hf_error"] = f"transformers does not import: {e}"
            return result
        torch_dtype = torch.float32 if dtype == "fp32" else torch.bfloat16
        model = AutoModelForCausalLM.from_pretrained(f"{fixture}/checkpoint", dtype=torch_dtype,
                                                     attn_implementation="eager").to(hf_device)
        model.eval()
        with torch.no_grad():
            hf = model(input_ids=case["input_ids"].to(hf_device), labels=case["labels"].to(hf_device))
        result["transformers"] = transformers.__version__
        result.update(compare_logits("hf", ours["logits"].float(), hf.logits.float().cpu(), dtype, 2e-2))
        hf_loss_rel = abs(ours["loss"].item() - hf.loss.item()) / abs(hf.loss.item())
        result["hf_loss_rel"] = hf_loss_rel
        result["hf_ok"] = result["hf_ok"] and hf_loss_rel <= (1e-5 if dtype == "fp32" else 1e-2)
    return result


def packed(args):
    """The packed row (three documents, cu_seqlens) against the fixture's logits: in bf16 on a GPU
    this is the flash varlen kernel's path."""
    ours = load_file(args[0])
    case = load_file(f"{args[1]}/case_packed.safetensors")
    return compare_logits("packed", ours["logits"], case["logits"], args[2], 5e-2)


def curve(args):
    events_file, reference_file = args[0], args[1]
    reference = json.load(open(reference_file))
    losses = {}
    for line in open(events_file):
        line = line.strip()
        if not line.startswith("{"):
            continue
        event = json.loads(line)
        if event.get("event") == "step":
            losses[event["step"]] = event["loss"]
    result = {"ok": True}
    for step, expected in reference["loss_at_step"].items():
        got = losses.get(int(step))
        rel = abs(got - expected) / abs(expected) if got is not None else None
        result[f"step_{step}"] = {"loss": got, "cpu": expected, "rel": rel}
        result["ok"] = result["ok"] and rel is not None and rel <= reference["tolerance_rel"]
    return result


def table(args):
    report = json.load(open(args[0]))
    rows = [("check", "result", "figures")]
    for name, item in report["checks"].items():
        status = "pass" if item.get("ok") else ("skip" if item.get("skipped") else "FAIL")
        flat = {}
        for k, v in item.items():
            if isinstance(v, dict):  # a curve step: its loss and relative difference
                flat.update({f"{k}_{inner}": x for inner, x in v.items() if inner in ("loss", "rel")})
            elif k != "ok":
                flat[k] = v
        figures = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in flat.items())
        rows.append((name, status, figures))
    width = max(len(r[0]) for r in rows)
    lines = [f"{r[0]:<{width}}  {r[1]:<6}  {r[2]}" for r in rows]
    return "\n".join([f"gpu-check {report['commit']} on {report['device']} ({report['date']})"] + lines)


def main():
    command, args = sys.argv[1], sys.argv[2:]
    if command == "table":
        print(table(args))
        return
    result = {"forward": forward, "packed": packed, "curve": curve}[command](args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
