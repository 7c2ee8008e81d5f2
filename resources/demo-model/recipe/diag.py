#!/usr/bin/env python3
"""Diagnoses why a trained demo model ignores its image (run on the GPU machine).

    python3 diag.py --tokenizer-dir TOK --out WORKDIR --report OUT_DIR

1. At initialisation: do two different images give different vision features and different logits, and do the
   language model's input embeddings at the image positions equal the vision features (placement check)?
2. A linear probe on the mean vision feature at initialisation: is the color still readable after the tower?
3. Overfit: 64 fixed color images, all with the same question. Only the image tells the answers apart, so the
   answer-token loss must fall to ~0 if the image reaches the answer.
4. Short color/shape/count runs in a few variants, scored by teacher-forced whole-reply accuracy on held-out images.
"""
import argparse
import inspect
import json
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import hf_common  # noqa: E402
import synth  # noqa: E402
import train  # noqa: E402


def build_model(cfg, zero_init):
    return train.new_model(cfg, zero_init).cuda()


def encode(proc, s, aid, rng):
    return hf_common.encode_training(proc, s, rng, aid)


def train_step(model, opt, inp):
    with torch.autocast("cuda", dtype=torch.bfloat16):
        loss = model(**inp, use_cache=False).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
    return loss


def run_variant(name, cfg, model_dir, sid, pad_id, steps, lr, zero_init, eval_batches, log, batch=64,
                vis_lr_mult=1.0, wd=0.05):
    torch.manual_seed(0)
    model = build_model(cfg, zero_init).train()
    vis = [p for n, p in model.named_parameters() if ".visual." in n]
    rest = [p for n, p in model.named_parameters() if ".visual." not in n]
    opt = torch.optim.AdamW([{"params": vis, "lr": lr * vis_lr_mult}, {"params": rest, "lr": lr}],
                            betas=(0.9, 0.98), weight_decay=wd, fused=True)
    base = [g["lr"] for g in opt.param_groups]
    ds = train.SynthData(model_dir, 99, steps * batch, batch)  # color/shape/count only, no video batches
    ds.easy_batches, ds.video_fraction = steps, 0.0
    dl = torch.utils.data.DataLoader(ds, batch_size=batch, num_workers=14, prefetch_factor=6,
                                     collate_fn=lambda b: hf_common.collate(b, pad_id), drop_last=True)
    t0 = time.time()
    hist = []
    for step, b in enumerate(dl):
        for g, l0 in zip(opt.param_groups, base):
            g["lr"] = l0 * min(1.0, (step + 1) / 50)
        b.pop("categories")
        b.pop("aux", None)
        loss = train_step(model, opt, {k: v.cuda(non_blocking=True) for k, v in b.items()})
        if (step + 1) % 50 == 0:
            model.eval()
            res = {}
            for eb in eval_batches:
                cats = eb["categories"]
                l, ok = hf_common.answer_stats(model, eb, sid)
                for c, o in zip(cats, ok):
                    res.setdefault(c, []).append(o)
                res.setdefault("_loss", []).append(l)
            model.train()
            acc = {c: round(sum(v) / len(v), 3) for c, v in res.items() if c != "_loss"}
            hist.append(dict(step=step + 1, train_loss=round(float(loss), 4),
                             answer_loss=round(float(np.mean(res["_loss"])), 4), acc=acc))
            log(f"  [{name}] step {step + 1} loss {float(loss):.4f} answer-loss {np.mean(res['_loss']):.4f} "
                f"acc {acc} ({time.time() - t0:.0f}s)")
    return model, hist


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer-dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--report", required=True)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--variants", default="base,nozero,lr3e-4")
    a = ap.parse_args()
    os.makedirs(a.report, exist_ok=True)
    logf = open(os.path.join(a.report, "diag.log"), "w")

    def log(*x):
        s = " ".join(str(v) for v in x)
        print(s, flush=True)
        logf.write(s + "\n")
        logf.flush()

    import transformers
    from transformers.models.glm4v import modeling_glm4v as mg
    log("transformers", transformers.__version__, "torch", torch.__version__)
    with open(os.path.join(a.report, "hf_source.py"), "w") as f:
        for obj in (mg.Glm4vModel.forward, mg.Glm4vModel.get_image_features, mg.Glm4vVisionModel.forward,
                    mg.Glm4vForConditionalGeneration.forward, mg.Glm4vTextModel.forward):
            try:
                f.write(inspect.getsource(obj) + "\n\n")
            except Exception as e:
                f.write(f"# {obj}: {e!r}\n")
        for name in ("get_placeholder_mask", "_init_weights"):
            for cls in (mg.Glm4vModel, mg.Glm4vPreTrainedModel):
                if hasattr(cls, name):
                    try:
                        f.write(inspect.getsource(getattr(cls, name)) + "\n\n")
                    except Exception as e:
                        f.write(f"# {name}: {e!r}\n")

    train.write_static_files(a.out, a.tokenizer_dir)
    sid = hf_common.special_ids(a.out)
    cfg, _ = train.make_config(sid)
    pad_id = sid["<|endoftext|>"]
    proc = hf_common.load_processor(a.out)
    aid = sid["<|assistant|>"]

    # ---- 1. two images at initialisation --------------------------------------------------------------------
    model = build_model(cfg, True).eval()
    s1 = synth.task_color(np.random.default_rng(5), "en")
    s1["question"] = "What color is it?"
    from PIL import Image
    s2 = dict(s1, image=Image.fromarray(255 - np.asarray(s1["image"].convert("RGB"))))
    e1 = encode(proc, s1, aid, None)
    e2 = encode(proc, s2, aid, None)
    log("pixel_values", tuple(e1["pixel_values"].shape), "grid", e1["image_grid_thw"].tolist(),
        "pixel diff", float((e1["pixel_values"] - e2["pixel_values"]).abs().mean()),
        "pixel mean/std", float(e1["pixel_values"].mean()), float(e1["pixel_values"].std()))
    captured = {}

    def hook(mod, args, kwargs):
        captured["emb"] = kwargs.get("inputs_embeds")

    hd = model.model.language_model.register_forward_pre_hook(hook, with_kwargs=True)
    outs = []
    for e in (e1, e2):
        b = hf_common.collate([e], pad_id)
        b.pop("categories")
        b.pop("aux", None)
        inp = {k: v.cuda() for k, v in b.items() if k != "labels"}
        with torch.no_grad():
            feats = model.model.get_image_features(inp["pixel_values"], inp["image_grid_thw"])
            if hasattr(feats, "pooler_output"):
                feats = feats.pooler_output
            if isinstance(feats, (list, tuple)):
                feats = torch.cat(list(feats), 0)
            lo = model(**inp, use_cache=False).logits[0].float()
        emb = captured["emb"][0]
        imask = inp["input_ids"][0] == sid["<|image|>"]
        log("image tokens", int(imask.sum()), "features", tuple(feats.shape),
            "feature |mean|", float(feats.abs().mean()), "text embed |mean|",
            float(emb[~imask].abs().mean()),
            "placed == features:", bool(torch.allclose(emb[imask].float(), feats.float(), atol=1e-4)))
        outs.append((feats, lo))
    hd.remove()
    log("feature diff between the two images", float((outs[0][0] - outs[1][0]).abs().mean()),
        "last-position logit diff", float((outs[0][1][-1] - outs[1][1][-1]).abs().max()))

    # ---- 2. linear probe on the mean feature ----------------------------------------------------------------
    X, Y = [], []
    for i in range(600):
        rng = np.random.default_rng([7, i])
        s = synth.task_color(rng, "en")
        e = encode(proc, s, aid, rng)
        with torch.no_grad():
            f = model.model.get_image_features(e["pixel_values"].cuda(), e["image_grid_thw"].cuda())
            if hasattr(f, "pooler_output"):
                f = f.pooler_output
            if isinstance(f, (list, tuple)):
                f = torch.cat(list(f), 0)
        X.append(torch.cat([f.float().mean(0), f.float().max(0).values, f.float().min(0).values]).cpu())
        Y.append([c[0] for c in synth.COLORS].index(s["answer"]))
    X = torch.stack(X)
    X = (X - X[:450].mean(0)) / (X[:450].std(0) + 1e-6)
    Yt = torch.nn.functional.one_hot(torch.tensor(Y), len(synth.COLORS)).float()
    W = torch.linalg.solve(X[:450].T @ X[:450] + 10 * torch.eye(X.shape[1]), X[:450].T @ Yt[:450])
    acc = float(((X[450:] @ W).argmax(1) == torch.tensor(Y[450:])).float().mean())
    log(f"linear probe on init vision features (mean/max/min), color: held-out acc {acc:.3f} (chance 0.1)")
    del model

    # ---- eval batches ----------------------------------------------------------------------------------------
    eval_batches = []
    for j in range(6):
        ex = []
        for i in range(32):
            rng = np.random.default_rng([31337, j * 32 + i])
            s = synth.training_sample(rng, video=False, easy=True)
            ex.append(encode(proc, s, aid, rng))
        eval_batches.append(hf_common.collate(ex, pad_id))

    # ---- 3. overfit 64 fixed color samples with one question -------------------------------------------------
    torch.manual_seed(0)
    model = build_model(cfg, True).train()
    fixed = []
    for i in range(64):
        rng = np.random.default_rng([8, i])
        s = synth.task_color(rng, "en")
        s["question"] = "What color is it?"
        fixed.append(encode(proc, s, aid, None))
    fb = hf_common.collate(fixed, pad_id)
    fb.pop("categories")
    fb.pop("aux", None)
    fin = {k: v.cuda() for k, v in fb.items()}
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.98), weight_decay=0.0)
    t0 = time.time()
    for step in range(300):
        loss = train_step(model, opt, fin)
        if (step + 1) % 50 == 0:
            model.eval()
            fb2 = dict(fb, categories=["color"] * 64)
            l, ok = hf_common.answer_stats(model, fb2, sid)
            model.train()
            log(f"overfit step {step + 1}: loss {float(loss):.4f} answer-loss {l:.4f} "
                f"memorised {sum(ok)}/64 ({time.time() - t0:.0f}s)")
    del model, opt

    # ---- 4. variants -----------------------------------------------------------------------------------------
    summary = {}
    for v in a.variants.split(","):
        kw = dict(lr=1e-3, zero_init=True)
        if v == "nozero":
            kw["zero_init"] = False
        elif v.startswith("lr"):
            kw["lr"] = float(v[2:])
        elif v == "vis10":
            kw["vis_lr_mult"] = 10.0
        elif v == "wd0":
            kw["wd"] = 0.0
        log(f"variant {v}: {kw}")
        _, hist = run_variant(v, cfg, a.out, sid, pad_id, a.steps, eval_batches=eval_batches, log=log, **kw)
        summary[v] = hist
    with open(os.path.join(a.report, "diag.json"), "w") as f:
        json.dump(summary, f, indent=1)


if __name__ == "__main__":
    main()
