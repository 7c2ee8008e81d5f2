#!/usr/bin/env python3
"""Writes a fresh held-out evaluation set for the GLM-V demo model.

    python3 make_eval_set.py OUTDIR [--seed N] [--per-category N] [--raw]

Needs Pillow, numpy and the `ffmpeg` command-line tool (libx264; falls back to FFV1 in .mkv). Writes to OUTDIR:
  color_XXX.png / shape_XXX.png / count_XXX.png   images (PNG)
  doc_XX.pdf                                      one single-page PDF per document (page image at 180 dpi,
                                                  so poppler at 180 dpi gives back 720x960 pixels)
  video_XXX.mp4                                   H.264 (yuv420p) clips of a moving ball, 224x168, 10 fps, 4 s
  questions.json                                  the questions (schema below)
With --raw it also writes doc_XX.png (the page images) and video_XXX.npy (the uncompressed frames), for
checking a pipeline against the source pixels.

questions.json: {"seed", "per_category", "generator", "answer_format", "compare", "items": [
  {"id", "category": color|shape|count|document|video, "kind": image|pdf|video, "files": [relative paths],
   "file": files[0], "page": 1 (pdf only), "fps"/"frames"/"width"/"height" (video only),
   "lang": en|zh, "question", "expected"}]}
The model answers `<think>…</think><answer>…</answer>`; compare the text inside <answer> with `expected` after
stripping spaces, case-insensitively.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synth  # noqa: E402

VIDEO_W, VIDEO_H, VIDEO_FPS, VIDEO_SECONDS = 224, 168, 10, 4.0


def encode_video(frames, fps, path_mp4):
    n, h, w, _ = frames.shape
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise SystemExit("make_eval_set.py needs the ffmpeg command-line tool")
    base = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
            "-s", f"{w}x{h}", "-r", str(fps), "-i", "-", "-an", "-map_metadata", "-1", "-fflags", "+bitexact"]
    x264 = base + ["-c:v", "libx264", "-preset", "medium", "-crf", "16", "-pix_fmt", "yuv420p", "-threads", "1",
                   "-flags:v", "+bitexact", "-movflags", "+faststart", path_mp4]
    r = subprocess.run(x264, input=frames.tobytes(), capture_output=True)
    if r.returncode == 0:
        return path_mp4
    path_mkv = path_mp4[:-4] + ".mkv"
    ffv1 = base + ["-c:v", "ffv1", "-pix_fmt", "bgr0", path_mkv]
    r2 = subprocess.run(ffv1, input=frames.tobytes(), capture_output=True)
    if r2.returncode != 0:
        raise SystemExit("ffmpeg failed: " + r.stderr.decode() + r2.stderr.decode())
    return path_mkv


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=20251)
    ap.add_argument("--per-category", type=int, default=40)
    ap.add_argument("--raw", action="store_true")
    ap.add_argument("--zh-fraction", type=float, default=0.3)
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    n = a.per_category
    items = []

    def lang_for(rng):
        return "zh" if rng.random() < a.zh_fraction else "en"

    # Seeds of the eval set live in their own stream: [seed, 1_000_000 + category, index]; training uses
    # [seed, index] with its own seed, so a different seed gives fresh samples.
    for ci, (cat, fn) in enumerate([("color", synth.task_color), ("shape", synth.task_shape),
                                     ("count", synth.task_count)]):
        for i in range(n):
            rng = np.random.default_rng([a.seed, 1_000_000 + ci, i])
            s = fn(rng, lang_for(rng))
            name = f"{cat}_{i:03d}.png"
            s["image"].save(os.path.join(a.outdir, name))
            items.append(dict(id=f"{cat}_{i:03d}", category=cat, kind="image", files=[name], file=name,
                              lang=s["lang"], question=s["question"], expected=s["answer"]))

    ndocs = (n + len(synth.DOC_QTYPES) - 1) // len(synth.DOC_QTYPES)
    k = 0
    for j in range(ndocs):
        rng = np.random.default_rng([a.seed, 1_000_003, j])
        page, info = synth.make_document(rng)
        name = f"doc_{j:02d}.pdf"
        synth.write_pdf(os.path.join(a.outdir, name), [page])
        if a.raw:
            page.save(os.path.join(a.outdir, f"doc_{j:02d}.png"))
        for qt in synth.DOC_QTYPES:
            if k >= n:
                break
            q, _think, ans = synth.doc_question(rng, info, qt, lang_for(rng))
            items.append(dict(id=f"document_{k:03d}", category="document", kind="pdf", files=[name], file=name,
                              page=1, lang="zh" if any(ord(ch) > 0x2e80 for ch in q) else "en",
                              question=q, expected=ans))
            k += 1

    for i in range(n):
        rng = np.random.default_rng([a.seed, 1_000_004, i])
        frames, fps, info = synth.make_video(rng, w=VIDEO_W, h=VIDEO_H, fps=VIDEO_FPS, duration=VIDEO_SECONDS)
        lang = lang_for(rng)
        q, _think, ans = synth.video_question(rng, info, lang, "motion")
        path = encode_video(frames, fps, os.path.join(a.outdir, f"video_{i:03d}.mp4"))
        name = os.path.basename(path)
        if a.raw:
            np.save(os.path.join(a.outdir, f"video_{i:03d}.npy"), frames)
        items.append(dict(id=f"video_{i:03d}", category="video", kind="video", files=[name], file=name,
                          fps=fps, frames=int(frames.shape[0]), width=VIDEO_W, height=VIDEO_H,
                          lang=lang, question=q, expected=ans))

    meta = dict(seed=a.seed, per_category=n, generator="resources/demo-model/recipe/make_eval_set.py",
                answer_format="<think>...</think><answer>EXPECTED</answer>",
                compare="text inside <answer>, stripped, case-insensitive, equals expected",
                items=items)
    with open(os.path.join(a.outdir, "questions.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, ensure_ascii=False, indent=1)
    print(f"wrote {len(items)} questions to {a.outdir}")


if __name__ == "__main__":
    main()
