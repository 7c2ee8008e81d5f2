#!/usr/bin/env python3
"""Evaluates a model folder with transformers on an eval set written by make_eval_set.py.

    python3 eval_hf.py MODEL_DIR EVAL_DIR [--out results.json] [--batch 16]

PNG files are read with PIL; PDFs are rasterized with `pdftoppm -r 180` when it exists, else their page images are
read back directly (make_eval_set writes each page as one 180-dpi image, which is what poppler renders); videos are
decoded with OpenCV (or the ffmpeg CLI). Then the HF processor preprocesses them. Greedy decoding; the text inside
<answer>…</answer> is compared with `expected` (stripped, case-insensitive). Prints the accuracy per category.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_common  # noqa: E402
import synth  # noqa: E402


def load_pdf_page(path, page=1):
    from PIL import Image
    if shutil.which("pdftoppm"):
        with tempfile.TemporaryDirectory() as td:
            subprocess.run(["pdftoppm", "-r", "180", "-f", str(page), "-l", str(page), "-png", path,
                            os.path.join(td, "p")], check=True)
            f = sorted(os.listdir(td))[0]
            return Image.open(os.path.join(td, f)).convert("RGB"), "pdftoppm"
    return synth.read_pdf_pages(path)[page - 1].convert("RGB"), "embedded-image"


def load_video(path):
    try:
        import cv2
        cap = cv2.VideoCapture(path)
        fps = cap.get(cv2.CAP_PROP_FPS)
        frames = []
        while True:
            ok, fr = cap.read()
            if not ok:
                break
            frames.append(fr[:, :, ::-1])
        cap.release()
        if frames and fps > 0:
            return np.ascontiguousarray(np.stack(frames)), float(fps), "opencv"
    except Exception:
        pass
    if shutil.which("ffmpeg") and shutil.which("ffprobe"):
        info = json.loads(subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                                          "stream=width,height,r_frame_rate", "-of", "json", path],
                                         capture_output=True, check=True).stdout)["streams"][0]
        w, h = info["width"], info["height"]
        num, den = info["r_frame_rate"].split("/")
        raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                             capture_output=True, check=True).stdout
        return np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3).copy(), float(num) / float(den), "ffmpeg"
    raise RuntimeError("no video decoder for " + path)


def parse_answer(text):
    if "<answer>" in text:
        text = text.split("<answer>", 1)[1]
    for stop in ("</answer>", "<|user|>", "<|endoftext|>", "<|observation|>"):
        text = text.split(stop, 1)[0]
    return text.strip()


def norm(s):
    return s.strip().strip(".。").strip().lower()


def evaluate(model, proc, eval_dir, batch=16, max_new_tokens=64, log=print, check_unbatched=2):
    with open(os.path.join(eval_dir, "questions.json"), encoding="utf-8") as f:
        meta = json.load(f)
    items = meta["items"]
    eos = list(model.generation_config.eos_token_id) if isinstance(model.generation_config.eos_token_id, list) \
        else [model.generation_config.eos_token_id]
    pad = proc.tokenizer.pad_token_id
    proc.tokenizer.padding_side = "left"
    sources = {}
    samples = []
    for it in items:
        path = os.path.join(eval_dir, it["files"][0])
        s = {"question": it["question"], "category": it["category"]}
        if it["kind"] == "image":
            from PIL import Image
            s.update(kind="image", image=Image.open(path).convert("RGB"))
        elif it["kind"] == "pdf":
            img, src = load_pdf_page(path, it.get("page", 1))
            sources["pdf"] = src
            s.update(kind="page", image=img)
        elif it["kind"] == "video":
            frames, fps, src = load_video(path)
            sources["video"] = src
            s.update(kind="video", frames=frames, fps=fps)
        samples.append(s)
    log(f"eval: {len(items)} items from {eval_dir}; decoders {sources}")
    results = []
    t0 = time.time()
    model.eval()
    dev = next(model.parameters()).device

    def run(group):
        texts = [hf_common.prompt_text(proc, hf_common.build_messages(s, None, with_answer=False), True)
                 for s in group]
        kw = {}
        ims = [s["image"] for s in group if s["kind"] in ("image", "page")]
        vids = [s for s in group if s["kind"] == "video"]
        if ims:
            kw["images"] = ims
        if vids:
            kw["videos"] = [s["frames"] for s in vids]
            kw["video_metadata"] = [hf_common.video_metadata(s["frames"], s["fps"]) for s in vids]
        enc = proc(text=texts, return_tensors="pt", padding=True, **kw)
        keep = ("input_ids", "attention_mask", "mm_token_type_ids", "pixel_values", "image_grid_thw",
                "pixel_values_videos", "video_grid_thw")
        enc = {k: v.to(dev) for k, v in enc.items() if k in keep and torch.is_tensor(v)}
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=dev.type == "cuda"):
            gen = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False, eos_token_id=eos,
                                 pad_token_id=pad)
        outs = []
        for row in gen[:, enc["input_ids"].shape[1]:].tolist():
            cut = []
            for t in row:
                cut.append(t)
                if t in eos:
                    break
            outs.append(proc.tokenizer.decode(cut, skip_special_tokens=False))
        return outs

    order = sorted(range(len(items)), key=lambda i: (items[i]["category"], i))
    preds = {}
    for k in range(0, len(order), batch):
        idx = order[k:k + batch]
        # one modality per batch keeps the processor call simple
        for cat_idx in [[i for i in idx if samples[i]["kind"] == kd] for kd in ("image", "page", "video", "text")]:
            if cat_idx:
                for i, o in zip(cat_idx, run([samples[i] for i in cat_idx])):
                    preds[i] = o
    mismatch = 0
    checked = 0
    for cat in sorted(set(it["category"] for it in items)):
        for i in [i for i in order if items[i]["category"] == cat][:check_unbatched]:
            checked += 1
            if run([samples[i]])[0] != preds[i]:
                mismatch += 1
    per = {}
    for i, it in enumerate(items):
        ans = parse_answer(preds[i])
        ok = norm(ans) == norm(it["expected"])
        c = per.setdefault(it["category"], [0, 0])
        c[0] += ok
        c[1] += 1
        results.append(dict(id=it["id"], category=it["category"], question=it["question"], expected=it["expected"],
                            output=preds[i], answer=ans, correct=bool(ok)))
    acc = {c: v[0] / v[1] for c, v in per.items()}
    for c in sorted(per):
        log(f"  {c:9s} {per[c][0]:3d}/{per[c][1]:3d} = {100 * acc[c]:.1f}%")
    log(f"eval took {time.time() - t0:.1f}s; batched-vs-unbatched mismatches {mismatch}/{checked}")
    return dict(accuracy=acc, counts=per, decoders=sources, batched_mismatch=[mismatch, checked], results=results)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("eval_dir")
    ap.add_argument("--out")
    ap.add_argument("--batch", type=int, default=16)
    a = ap.parse_args()
    from transformers import Glm4vForConditionalGeneration
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    model = Glm4vForConditionalGeneration.from_pretrained(a.model_dir, dtype=torch.float32).to(dev)
    proc = hf_common.load_processor(a.model_dir, padding_side="left")
    r = evaluate(model, proc, a.eval_dir, batch=a.batch)
    if a.out:
        with open(a.out, "w", encoding="utf-8") as f:
            json.dump(r, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
