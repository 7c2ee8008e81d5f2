#!/usr/bin/env python3
"""Trains the GLM-V demo model (transformers' Glm4vForConditionalGeneration, toy size) on synthetic data.

    python3 train.py --tokenizer-dir DIR --out MODEL_DIR [--steps 3000] [--batch 64] [--seed 1234]
                     [--workers 15] [--eval-dir EVAL_DIR] [--time-limit 540]

DIR holds tokenizer.json + tokenizer_config.json from train_tokenizer.py. Samples are generated on the fly by
DataLoader workers: sample i comes from np.random.default_rng([seed, i]) (synth.training_sample), is
preprocessed by the real Glm4vProcessor (chat template, image/video placeholder expansion, image and video
processors with this model's pixel budget), and only the assistant part (`<think>…</think><answer>…</answer>`)
is in the loss. Writes a complete model folder (bf16 safetensors, configs, tokenizer, chat template).
"""
import argparse
import json
import math
import os
import shutil
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import aux_reader  # noqa: E402
import fastpath  # noqa: E402
import hf_common  # noqa: E402
import synth  # noqa: E402

# ---- model size -------------------------------------------------------------------------------------------
TEXT = dict(hidden_size=384, intermediate_size=1024, num_hidden_layers=6, num_attention_heads=6,
            num_key_value_heads=2, max_position_embeddings=8192, mrope_section=[4, 6, 6])
VISION = dict(hidden_size=256, depth=4, num_heads=4, intermediate_size=768)
from model_files import IMAGE_MAX_PIXELS, MIN_PIXELS, VIDEO_MAX_PIXELS, write_static_files  # noqa: E402,F401


def make_config(sid):
    from transformers import Glm4vConfig
    n_tok = max(sid.values()) + 1
    vocab = (n_tok + 63) // 64 * 64
    eos = [sid["<|endoftext|>"], sid["<|user|>"], sid["<|observation|>"], sid["</answer>"]]
    text_cfg = dict(vocab_size=vocab, hidden_size=TEXT["hidden_size"], intermediate_size=TEXT["intermediate_size"],
                    num_hidden_layers=TEXT["num_hidden_layers"], num_attention_heads=TEXT["num_attention_heads"],
                    num_key_value_heads=TEXT["num_key_value_heads"], hidden_act="silu",
                    max_position_embeddings=TEXT["max_position_embeddings"], rms_norm_eps=1e-5,
                    initializer_range=0.02, eos_token_id=eos, pad_token_id=sid["<|endoftext|>"],
                    rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": 0.5,
                                     "mrope_section": TEXT["mrope_section"]})
    vision_cfg = dict(hidden_size=VISION["hidden_size"], depth=VISION["depth"], num_heads=VISION["num_heads"],
                      intermediate_size=VISION["intermediate_size"], out_hidden_size=TEXT["hidden_size"],
                      patch_size=14, temporal_patch_size=2, spatial_merge_size=2, image_size=336, rms_norm_eps=1e-5,
                      hidden_act="silu", in_channels=3, attention_bias=False,
                      rope_parameters={"rope_type": "axial", "rope_theta": 10000.0})
    cfg = Glm4vConfig(text_config=text_cfg, vision_config=vision_cfg, image_token_id=sid["<|image|>"],
                      video_token_id=sid["<|video|>"], image_start_token_id=sid["<|begin_of_image|>"],
                      image_end_token_id=sid["<|end_of_image|>"], video_start_token_id=sid["<|begin_of_video|>"],
                      video_end_token_id=sid["<|end_of_video|>"], tie_word_embeddings=False)
    return cfg, eos


class SynthData(torch.utils.data.Dataset):
    def __init__(self, model_dir, seed, n, batch, cfg=None):
        self.model_dir, self.seed, self.n, self.batch, self.cfg = model_dir, seed, n, batch, cfg
        self.proc = None
        self.rope = None
        self.easy_batches = 0
        self.mix = None
        self.video_fraction = None
        self.u8 = False

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if self.proc is None:
            torch.set_num_threads(1)
            self.proc = hf_common.load_processor(self.model_dir)
            self.assistant_id = self.proc.tokenizer.convert_tokens_to_ids("<|assistant|>")
        rng = np.random.default_rng([self.seed, i])
        b = i // self.batch
        s = synth.training_sample(rng, video=synth.is_video_batch(self.seed, b, self.video_fraction),
                                  easy=b < self.easy_batches, mix=self.mix)
        ex = hf_common.encode_training(self.proc, s, rng, self.assistant_id)
        if self.u8:
            for k in hf_common.PIXEL_KEYS:
                if k in ex:
                    ex[k] = hf_common.pixels_to_u8(ex[k], strict=True)
        if self.cfg is not None:  # 3D RoPE positions on the CPU here, with transformers' own get_rope_index
            if self.rope is None:
                self.rope = RopeIndex(self.cfg)
            pos = self.rope(ex)
            if pos is not None:
                ex["position_ids"] = pos
        return ex


class RopeIndex:
    """Calls Glm4vModel.get_rope_index on a stand-in object that only carries the config."""

    def __init__(self, cfg):
        from transformers.models.glm4v import modeling_glm4v
        cls = modeling_glm4v.Glm4vModel
        self.fn = cls.get_rope_index

        class Holder:  # resolves the model's helper methods (e.g. get_vision_position_ids) on itself
            def __getattr__(self, name):
                return getattr(cls, name).__get__(self)

        self.holder = Holder()
        self.holder.config = cfg
        self.holder.rope_deltas = None
        self.ok = True

    def __call__(self, ex):
        if not self.ok:
            return None
        ids = ex["input_ids"][None]
        mm = ex["mm_token_type_ids"][None]
        kw = {"image_grid_thw": ex.get("image_grid_thw"), "video_grid_thw": ex.get("video_grid_thw"),
              "attention_mask": torch.ones_like(ids)}
        try:
            pos, _ = self.fn(self.holder, ids, mm, **kw)
        except Exception as e:
            print("RopeIndex disabled:", repr(e)[:300], flush=True)
            self.ok = False
            return None
        return pos[:, 0, :]


def new_model(cfg, zero_init_vision_residuals=True):
    """A freshly initialised model; with zero_init_vision_residuals the vision blocks' residual branches start at
    zero, so the tower starts near-linear."""
    from transformers import Glm4vForConditionalGeneration
    try:
        model = Glm4vForConditionalGeneration._from_config(cfg, attn_implementation="sdpa")
    except Exception as e:
        print("sdpa config failed:", repr(e))
        model = Glm4vForConditionalGeneration(cfg)
    if zero_init_vision_residuals:
        with torch.no_grad():
            for blk in model.model.visual.blocks:
                for lin in (blk.attn.proj, blk.mlp.down_proj):
                    lin.weight.zero_()
                    if getattr(lin, "bias", None) is not None:
                        lin.bias.zero_()
    return model


def teacher_forced_eval(model, model_dir, sid, pad_id, seed, per_category=96):
    """Fresh samples from another seed, scored with the answer tokens given (see hf_common.answer_stats)."""
    model.eval()
    proc = hf_common.load_processor(model_dir)
    aid = sid["<|assistant|>"]
    tasks = {"color": synth.task_color, "shape": synth.task_shape, "count": synth.task_count,
             "document": synth.task_document, "video": synth.task_video, "text": synth.task_text}
    acc = {}
    for t, (name, fn) in enumerate(tasks.items()):
        ok_all = []
        i = 0
        for _ in range(0, per_category, 32):
            ex = []
            while len(ex) < 32:
                rng = np.random.default_rng([seed, t, i])
                i += 1
                s = fn(rng)
                if s["category"] != name:  # video colour questions are not part of the video score
                    continue
                ex.append(hf_common.encode_training(proc, s, rng, aid))
            _, ok = hf_common.answer_stats(model, hf_common.collate(ex, pad_id), sid)
            ok_all += ok
        acc[name] = sum(ok_all) / len(ok_all)
    return acc


def u8_roundtrip_ok(proc, sid):
    """The uint8 transport must give back exactly what the processor made, for pages, images and videos."""
    aid = sid["<|assistant|>"]
    worst = 0.0
    for i, fn in enumerate((synth.task_document, synth.task_color, synth.task_video, synth.task_document)):
        ex = hf_common.encode_training(proc, fn(np.random.default_rng([31, i])), np.random.default_rng([32, i]), aid)
        for k in hf_common.PIXEL_KEYS:
            if k in ex:
                u8 = hf_common.pixels_to_u8(ex[k])
                if u8.dtype != torch.uint8:
                    print(f"uint8 pixels: {k} of a {fn.__name__} sample is not whole 8-bit values; sending float32")
                    return False
                worst = max(worst, float((hf_common.pixels_from_u8(u8) - ex[k]).abs().max()))
    ok = worst < 1e-4
    print(f"uint8 pixels: largest difference after the round trip {worst:.2e} -> {'used' if ok else 'NOT used'}",
          flush=True)
    return ok


def verification_batches(proc, sid, pad_id, seed):
    """Two real batches for fastpath.install: mixed still images and pages, and videos (as in training, videos
    come in batches of their own)."""
    aid = sid["<|assistant|>"]
    still = [synth.task_color, synth.task_shape, synth.task_count, synth.task_text, synth.task_document,
             synth.task_document, synth.task_chat]
    out = []
    for fns in (still * 2, [synth.task_video] * 6):
        ex = [hf_common.encode_training(proc, fn(np.random.default_rng([seed, 555, i])),
                                        np.random.default_rng([seed, 556, i]), aid) for i, fn in enumerate(fns)]
        b = hf_common.collate(ex, pad_id)
        b.pop("categories")
        b.pop("aux", None)
        out.append({k: v.cuda() for k, v in b.items()})
    return out


def speed_check(model, check, loader, steps=24):
    """Where a training step's time goes: HF's vision code vs the fast path, data loading, a profile."""
    batches = []
    t0 = time.time()
    for b in loader:
        b.pop("categories")
        b.pop("aux", None)
        b = {k: v.cuda() for k, v in b.items()}
        batches.append({k: hf_common.pixels_from_u8(v) if k in hf_common.PIXEL_KEYS else v for k, v in b.items()})
        if len(batches) == steps:
            break
    print(f"data: {steps} batches in {time.time() - t0:.1f}s (workers starting included)", flush=True)
    still = [b for b in batches if "pixel_values" in b][:6]
    video = [b for b in batches if "pixel_values_videos" in b][:2]
    t_hf = fastpath.time_steps(model, still + video)
    print(f"transformers' code: {t_hf * 1000:.0f} ms per forward+backward ({len(still)} still, {len(video)} video "
          f"batches)", flush=True)
    print("fast path:", fastpath.install(model, check, log=lambda m: print(m, flush=True)), flush=True)
    t_fast = fastpath.time_steps(model, still + video)
    print(f"fast path: {t_fast * 1000:.0f} ms per forward+backward", flush=True)
    t0 = time.time()
    n = 0
    for b in loader:  # the workers are warm now: the steady data rate
        n += 1
        if n == steps:
            break
    print(f"data, steady: {n / (time.time() - t0):.2f} batches/s", flush=True)
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        fastpath.time_steps(model, still[:3], reps=1)
    print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=25), flush=True)
    for key in ("self_cuda_time_total", "self_device_time_total"):
        try:
            print(prof.key_averages().table(sort_by=key, row_limit=15), flush=True)
            break
        except Exception as e:
            print(f"profile table by {key}: {e!r}"[:200])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer-dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--workers", type=int, default=15)
    ap.add_argument("--time-limit", type=float, default=1e9, help="stop the training loop after this many seconds")
    ap.add_argument("--eval-dir")
    ap.add_argument("--eval-out")
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--cpu-rope", type=int, default=1, help="compute 3D positions in the data workers (checked "
                    "against the model's own on the first batch)")
    ap.add_argument("--fastpath", type=int, default=1, help="batched vision attention etc. (fastpath.py; kept only "
                    "where it agrees with transformers' code on real batches)")
    ap.add_argument("--u8-pixels", type=int, default=1, help="pass pixels from the data workers as uint8 (exact; "
                    "checked at start), normalised on the GPU")
    ap.add_argument("--speed-check", action="store_true", help="time training steps with and without the fast "
                    "path, profile them, and exit")
    ap.add_argument("--easy-steps", type=int, default=200, help="curriculum: color/shape/count (+video) only")
    ap.add_argument("--hold", type=float, default=0.6, help="fraction of the run at peak lr before the cosine")
    ap.add_argument("--init-from", help="start from this model folder's weights (a second training stage)")
    ap.add_argument("--mix", help="task weights, e.g. color=0.05,shape=0.2,count=0.2,document=0.5 (default: synth's)")
    ap.add_argument("--video-fraction", type=float, help="share of video-only batches (default: synth's)")
    ap.add_argument("--export-dir", help="also write model.safetensors in 14 MiB parts + configs here")
    ap.add_argument("--aux-weight", type=float, default=0.0, help="weight of the training-only probe heads on the "
                    "vision tokens (aux_reader.py); 0 trains with the language-model loss alone")
    a = ap.parse_args()
    t_start = time.time()
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    write_static_files(a.out, a.tokenizer_dir)
    sid = hf_common.special_ids(a.out)
    cfg, eos = make_config(sid)
    model = new_model(cfg)
    if a.init_from:
        from safetensors.torch import load_file
        missing, unexpected = model.load_state_dict(load_file(os.path.join(a.init_from, "model.safetensors")),
                                                    strict=True)
        print(f"initialised from {a.init_from}; missing {missing}, unexpected {unexpected}", flush=True)
    model = model.cuda().train()
    nparam = sum(p.numel() for p in model.parameters())
    nvis = sum(p.numel() for n, p in model.named_parameters() if ".visual." in n or n.startswith("visual"))
    print(f"params {nparam / 1e6:.2f} M (vision {nvis / 1e6:.2f} M); vocab {cfg.text_config.vocab_size}; "
          f"special {json.dumps(sid)}", flush=True)

    # check: the written-out template equals the processor's
    proc = hf_common.load_processor(a.out)
    print("processor load fallbacks:", proc._load_errors)
    rng0 = np.random.default_rng([a.seed, 10 ** 9])
    for fn in (synth.task_color, synth.task_video, synth.task_chat):
        s = fn(rng0)
        for gen in (False, True):
            m = hf_common.build_messages(s, None, with_answer=not gen)
            try:
                t1 = proc.apply_chat_template(m, tokenize=False, add_generation_prompt=gen)
            except Exception as e:
                t1 = "apply_chat_template failed: " + repr(e)
            t2 = hf_common.render_prompt(m, gen)
            if t1 != t2:
                print("TEMPLATE MISMATCH\n", repr(t1), "\n", repr(t2))
    s = synth.task_video(np.random.default_rng([a.seed, 10 ** 9 + 1]))
    ex = hf_common.encode_training(proc, s, np.random.default_rng(0), proc.tokenizer.convert_tokens_to_ids("<|assistant|>"))
    print("example video sample:", len(ex["input_ids"]), "tokens; grid", ex.get("video_grid_thw"),
          "\n  decoded:", proc.tokenizer.decode(ex["input_ids"][:12]), "...",
          proc.tokenizer.decode([t for t in ex["input_ids"].tolist() if t != sid["<|image|>"]])[-160:],
          "\n  target:", proc.tokenizer.decode(ex["labels"][ex["labels"] >= 0]), flush=True)

    ds = SynthData(a.out, a.seed, a.steps * a.batch, a.batch, cfg if a.cpu_rope else None)
    ds.easy_batches = a.easy_steps
    ds.mix = synth.mix_from_spec(a.mix) if a.mix else None
    ds.video_fraction = a.video_fraction
    ds.u8 = a.u8_pixels and u8_roundtrip_ok(proc, sid)
    pad_id = sid["<|endoftext|>"]
    loader = torch.utils.data.DataLoader(ds, batch_size=a.batch, shuffle=False, num_workers=a.workers,
                                         collate_fn=lambda b: hf_common.collate(b, pad_id), prefetch_factor=8,
                                         persistent_workers=False, pin_memory=True, drop_last=True)
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    groups = [{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}]
    reader = capture = None
    if a.aux_weight > 0:
        reader = aux_reader.AuxReader(cfg.vision_config.out_hidden_size, synth.AUX_HEADS).cuda().train()
        groups.append({"params": list(reader.parameters()), "weight_decay": 0.0})
    opt = torch.optim.AdamW(groups, lr=a.lr, betas=(0.9, 0.98), eps=1e-8, fused=True)

    def lr_at(step, elapsed=0.0):
        if step < a.warmup:
            return a.lr * (step + 1) / a.warmup
        f = step / max(1, a.steps)
        if a.time_limit < 1e8:  # wall-clock budget: the schedule follows whichever runs out first
            f = max(f, elapsed / a.time_limit)
        if f < a.hold:
            return a.lr
        f = (f - a.hold) / (1 - a.hold)
        return a.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, f))))

    if a.fastpath or a.speed_check:
        check = verification_batches(proc, sid, pad_id, a.seed)
        if a.speed_check:
            speed_check(model, check, loader)
            return
        print("fast path:", fastpath.install(model, check, log=lambda m: print(m, flush=True)), flush=True)

    if reader is not None:  # after fastpath.install: its checking passes must not leave a stale capture
        capture = aux_reader.MergerCapture(model)
    aux_hits = {}
    t_loop = time.time()
    wait = 0.0
    tok_count = 0
    loss_acc, loss_n = 0.0, 0
    cat_loss = {}
    step = 0
    it = iter(loader)
    rope_checked, use_pos = False, True
    skipped = 0
    while step < a.steps:
        t0 = time.time()
        try:
            batch = next(it)
        except StopIteration:
            break
        wait += time.time() - t0
        if time.time() - t_loop > a.time_limit:
            print(f"time limit reached at step {step}", flush=True)
            break
        for g in opt.param_groups:
            g["lr"] = lr_at(step, time.time() - t_loop)
        cats = batch.pop("categories")
        aux_labels = batch.pop("aux", None)
        n_tokens = int(batch["attention_mask"].sum())
        inp = {k: v.cuda(non_blocking=True) for k, v in batch.items()}
        for k in hf_common.PIXEL_KEYS:
            if k in inp:
                inp[k] = hf_common.pixels_from_u8(inp[k])
        if "position_ids" in inp and not rope_checked:
            rope_checked = True
            try:
                with torch.no_grad():
                    ref, _ = model.model.get_rope_index(inp["input_ids"], inp["mm_token_type_ids"],
                                                        image_grid_thw=inp.get("image_grid_thw"),
                                                        video_grid_thw=inp.get("video_grid_thw"),
                                                        attention_mask=inp["attention_mask"])
                valid = inp["attention_mask"].bool()[None].expand_as(ref)
                same = ref.shape == inp["position_ids"].shape and bool((ref[valid] == inp["position_ids"][valid]).all())
            except Exception as e:
                print("rope check failed:", repr(e)[:300])
                same = False
            print(f"worker-side 3D positions equal model.get_rope_index: {same}", flush=True)
            if not same:
                use_pos = False
        if "position_ids" in inp and not use_pos:
            inp.pop("position_ids")
        with torch.autocast("cuda", dtype=torch.bfloat16):
            out = model(**inp, use_cache=False)
        loss = out.loss
        objective = loss
        if capture is not None:
            tokens = capture.take()
            if aux_labels and "image_grid_thw" in inp and tokens is not None:
                lengths = (inp["image_grid_thw"].prod(-1) // 4).tolist()  # merged 2x2 tokens per image
                if sum(lengths) == tokens.shape[0] and len(lengths) == len(aux_labels):
                    aux_loss, stats = reader(tokens, lengths, aux_labels)
                    if aux_loss is not None:
                        objective = loss + a.aux_weight * aux_loss
                        for k, (c, n) in stats.items():
                            h = aux_hits.setdefault(k, [0, 0])
                            h[0] = h[0] + c
                            h[1] += n
                else:
                    print(f"probe heads off: {tokens.shape[0]} vision tokens for images of {lengths}", flush=True)
                    capture.handle.remove()
                    capture = None
        objective.backward()
        if step in (0, 50, 400):
            parts = {}
            for n, p in model.named_parameters():
                if p.grad is not None:
                    key = "visual" if ".visual." in n else ("embed/head" if ("embed" in n or "lm_head" in n) else "text")
                    parts[key] = parts.get(key, 0.0) + float(p.grad.float().norm()) ** 2
            print(f"step {step} grad norms: " + ", ".join(f"{k} {v ** 0.5:.3g}" for k, v in parts.items()), flush=True)
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        if torch.isfinite(objective) and torch.isfinite(gn):
            opt.step()
        else:  # never let one bad batch poison the weights
            skipped += 1
            print(f"step {step}: non-finite loss/grad ({float(loss)}, {float(gn)}), categories "
                  f"{sorted(set(cats))}; update skipped", flush=True)
            if skipped > 50:
                raise SystemExit("too many non-finite steps")
        opt.zero_grad(set_to_none=True)
        tok_count += n_tokens
        loss_acc = loss_acc + torch.nan_to_num(loss.detach(), nan=0.0, posinf=0.0)  # summed on the GPU: no sync
        loss_n += 1
        step += 1
        if step % a.log_every == 0 or step == 1:
            el = time.time() - t_loop
            print(f"step {step:5d} loss {float(loss_acc) / max(1, loss_n):.4f} lr {lr_at(step, el):.2e} gnorm {float(gn):.2f} "
                  f"| {el:.0f}s, {step / el:.2f} it/s, {tok_count / el:.0f} tok/s, data wait {wait:.0f}s", flush=True)
            loss_acc, loss_n = 0.0, 0
            if aux_hits:
                print("  probe accuracy: " + ", ".join(f"{k} {float(c) / max(1, n):.2f}"
                                                       for k, (c, n) in sorted(aux_hits.items())), flush=True)
                aux_hits = {}
    print(f"skipped updates: {skipped}")
    print(f"trained {step} steps in {time.time() - t_loop:.0f}s ({step * a.batch} samples)", flush=True)
    del it, loader
    if capture is not None:
        capture.handle.remove()

    model.generation_config.eos_token_id = eos
    model.generation_config.pad_token_id = pad_id
    model.generation_config.do_sample = False
    model = model.to(torch.bfloat16)
    model.save_pretrained(a.out, safe_serialization=True)
    from safetensors import safe_open
    with safe_open(os.path.join(a.out, "model.safetensors"), "pt") as f:
        keys = list(f.keys())
    print(f"saved {len(keys)} tensors, {os.path.getsize(os.path.join(a.out, 'model.safetensors')) / 1e6:.2f} MB; "
          f"e.g. {keys[:3]} ... lm_head present: {'lm_head.weight' in keys}", flush=True)
    if a.export_dir:
        os.makedirs(a.export_dir, exist_ok=True)
        for f in ("config.json", "generation_config.json"):
            shutil.copy(os.path.join(a.out, f), os.path.join(a.export_dir, f))
        with open(os.path.join(a.out, "model.safetensors"), "rb") as f:
            k = 0
            while True:
                chunk = f.read(14 << 20)
                if not chunk:
                    break
                with open(os.path.join(a.export_dir, f"model.safetensors.part{k}"), "wb") as g:
                    g.write(chunk)
                k += 1
        print(f"exported {k} parts to {a.export_dir}", flush=True)
    heldout = teacher_forced_eval(model.float(), a.out, sid, pad_id, a.seed + 7919)
    print("held-out teacher-forced reply accuracy: " + ", ".join(f"{k} {v:.3f}" for k, v in heldout.items()),
          flush=True)
    if a.eval_dir:
        import eval_hf
        m2 = Glm4vForConditionalGeneration.from_pretrained(a.out, dtype=torch.float32).cuda()
        p2 = hf_common.load_processor(a.out, padding_side="left")
        r = eval_hf.evaluate(m2, p2, a.eval_dir, batch=32, check_unbatched=1)
        r["train"] = dict(steps=step, batch=a.batch, seed=a.seed, lr=a.lr, params=nparam,
                          seconds=time.time() - t_start)
        if a.eval_out:
            with open(a.eval_out, "w", encoding="utf-8") as f:
                json.dump(r, f, ensure_ascii=False, indent=1)
    print(f"total {time.time() - t_start:.0f}s", flush=True)


if __name__ == "__main__":
    main()
