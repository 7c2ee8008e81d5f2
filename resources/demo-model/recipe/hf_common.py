# Shared Hugging Face helpers for train.py and eval_hf.py (needs torch + transformers 5.x).
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synth  # noqa: E402


def special_ids(model_dir):
    with open(os.path.join(model_dir, "tokenizer.json"), encoding="utf-8") as f:
        return {t["content"]: t["id"] for t in json.load(f)["added_tokens"]}


def load_processor(model_dir, padding_side="right"):
    import transformers
    from transformers import Glm4vImageProcessor, Glm4vProcessor, Glm4vVideoProcessor
    tok = None
    errors = []
    try:
        tok = transformers.AutoTokenizer.from_pretrained(model_dir)
    except Exception as e:  # fall back to building the fast tokenizer from tokenizer.json directly
        errors.append(repr(e))
        from transformers import PreTrainedTokenizerFast
        tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(model_dir, "tokenizer.json"),
                                      eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    tok.padding_side = padding_side
    ip = Glm4vImageProcessor.from_pretrained(model_dir)
    vp = Glm4vVideoProcessor.from_pretrained(model_dir)
    with open(os.path.join(model_dir, "chat_template.jinja"), encoding="utf-8") as f:
        template = f.read()
    proc = Glm4vProcessor(image_processor=ip, tokenizer=tok, video_processor=vp, chat_template=template)
    proc._load_errors = errors
    return proc


def render_prompt(msgs, add_generation_prompt):
    """The chat template, written out (checked against processor.apply_chat_template in the smoke run)."""
    out = "[gMASK]<sop>"
    for m in msgs:
        if m["role"] == "system":
            out += "<|system|>\n" + m["content"]
        elif m["role"] == "user":
            out += "<|user|>\n"
            if isinstance(m["content"], str):
                out += m["content"]
            else:
                for it in m["content"]:
                    if it["type"] == "video":
                        out += "<|begin_of_video|><|video|><|end_of_video|>"
                    elif it["type"] == "image":
                        out += "<|begin_of_image|><|image|><|end_of_image|>"
                    elif it["type"] == "text":
                        out += it["text"]
        elif m["role"] == "assistant":
            out += "<|assistant|>\n" + m["content"]
    if add_generation_prompt:
        out += "<|assistant|>\n"
    return out


def prompt_text(proc, msgs, add_generation_prompt):
    try:
        t = proc.apply_chat_template(msgs, tokenize=False, add_generation_prompt=add_generation_prompt)
        if isinstance(t, list):
            t = t[0]
        return t
    except Exception:
        return render_prompt(msgs, add_generation_prompt)


def build_messages(s, rng=None, with_answer=True):
    kind = s["kind"]
    msgs = []
    if rng is not None and rng.random() < 0.08:
        msgs.append({"role": "system", "content": synth.pick(rng, synth.SYSTEM_PROMPTS)})
    if kind == "text":
        msgs.append({"role": "user", "content": s["question"]})
    else:
        media = {"type": "video"} if kind == "video" else {"type": "image"}
        text = {"type": "text", "text": s["question"]}
        first_text = rng is not None and rng.random() < 0.12
        msgs.append({"role": "user", "content": [text, media] if first_text else [media, text]})
    if with_answer:
        msgs.append({"role": "assistant", "content": synth.assistant_text(s)})
    return msgs


def video_metadata(frames, fps):
    from transformers.video_utils import VideoMetadata
    n, h, w = frames.shape[0], frames.shape[1], frames.shape[2]
    return VideoMetadata(total_num_frames=n, fps=float(fps), duration=n / float(fps), width=w, height=h)


def media_kwargs(s):
    if s["kind"] in ("image", "page"):
        return {"images": [s["image"].convert("RGB")]}
    if s["kind"] == "video":
        return {"videos": [s["frames"]], "video_metadata": [video_metadata(s["frames"], s["fps"])]}
    return {}


def doc_augment(rng, page):
    """Stands in for the app's PDF raster (poppler at 180 dpi, possibly capped to a pixel budget)."""
    if rng.random() < 0.45:
        return page
    from PIL import Image
    s = float(rng.uniform(0.5, 1.0))
    w, h = page.size
    filt = synth.pick(rng, [Image.BILINEAR, Image.BICUBIC, Image.LANCZOS, Image.BOX])
    return page.resize((max(28, int(round(w * s))), max(28, int(round(h * s)))), filt)


def encode_training(proc, s, rng, assistant_id, use_template=False):
    if s["kind"] == "page":
        s = dict(s, image=doc_augment(rng, s["image"]))
    msgs = build_messages(s, rng, with_answer=True)
    text = proc.apply_chat_template(msgs, tokenize=False) if use_template else render_prompt(msgs, False)
    enc = proc(text=[text], return_tensors="pt", **media_kwargs(s))
    ids = enc["input_ids"][0]
    pos = (ids == assistant_id).nonzero()
    a = int(pos[-1, 0])
    labels = torch.full_like(ids, -100)
    labels[a + 2:] = ids[a + 2:]  # after "<|assistant|>" "\n"
    if "mm_token_type_ids" in enc:
        mm = torch.as_tensor(enc["mm_token_type_ids"][0])
    else:
        mm = torch.as_tensor(proc.create_mm_token_type_ids([ids.tolist()])[0])
    out = {"input_ids": ids, "labels": labels, "mm_token_type_ids": mm,
           "category": s["category"]}
    for k in ("pixel_values", "image_grid_thw", "pixel_values_videos", "video_grid_thw"):
        if k in enc and enc[k] is not None:
            out[k] = enc[k]
    if "aux" in s and "pixel_values" in out:
        out["aux"] = s["aux"]
    return out


PIXEL_KEYS = ("pixel_values", "pixel_values_videos")


def _mean_std(t):
    from model_files import MEAN, STD
    return (torch.tensor(MEAN, dtype=torch.float32, device=t.device).view(1, 3, 1),
            torch.tensor(STD, dtype=torch.float32, device=t.device).view(1, 3, 1))


def pixels_to_u8(pv, strict=False):
    """The processor's normalised float32 patches back to the 8-bit pixels they came from (the resize works on
    uint8, so this is exact), 4x smaller to pass from the data workers; pixels_from_u8 undoes it on the GPU.
    Returns pv unchanged if it is not made of whole 8-bit values, or raises with strict=True (a batch must not
    mix the two)."""
    mean, std = _mean_std(pv)
    x = (pv.view(pv.shape[0], 3, -1) * std + mean) * 255.0
    r = x.round()
    if x.numel() == 0 or float((x - r).abs().max()) > 0.02:
        if strict:
            raise RuntimeError("pixel values are not whole 8-bit values; train with --u8-pixels 0")
        return pv
    return r.clamp_(0, 255).to(torch.uint8).view(pv.shape)


def pixels_from_u8(t):
    if t.dtype != torch.uint8:
        return t
    mean, std = _mean_std(t)
    x = t.view(t.shape[0], 3, -1).float() / 255.0
    return ((x - mean) / std).view(t.shape)


def collate(batch, pad_id):
    L = max(len(b["input_ids"]) for b in batch)
    B = len(batch)
    ids = torch.full((B, L), pad_id, dtype=torch.long)
    labels = torch.full((B, L), -100, dtype=torch.long)
    mm = torch.zeros((B, L), dtype=torch.long)
    att = torch.zeros((B, L), dtype=torch.long)
    for i, b in enumerate(batch):
        n = len(b["input_ids"])
        ids[i, :n] = b["input_ids"]
        labels[i, :n] = b["labels"]
        mm[i, :n] = b["mm_token_type_ids"]
        att[i, :n] = 1
    out = {"input_ids": ids, "labels": labels, "mm_token_type_ids": mm, "attention_mask": att}
    for k in ("pixel_values", "image_grid_thw", "pixel_values_videos", "video_grid_thw"):
        parts = [b[k] for b in batch if k in b]
        if parts:
            out[k] = torch.cat(parts, 0)
    if all("position_ids" in b for b in batch):
        pos = torch.ones((3, B, L), dtype=torch.long)
        for i, b in enumerate(batch):
            pos[:, i, :b["position_ids"].shape[1]] = b["position_ids"]
        out["position_ids"] = pos
    out["categories"] = [b["category"] for b in batch]
    if "pixel_values" in out:  # probe labels of the still images, in the order their pixels were concatenated
        out["aux"] = [b.get("aux", {}) for b in batch if "pixel_values" in b]
    return out


def answer_stats(model, batch, sid):
    """Teacher-forced check of a collated batch: mean loss over the assistant tokens, and per sample whether every
    assistant token (reasoning and answer) is the argmax. The reasoning names the answer before <answer> does, so
    scoring only the answer tokens would measure copying; scoring the whole reply is close to greedy decoding."""
    inp = {k: v.cuda() for k, v in batch.items() if k not in ("categories", "labels", "aux")}
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
        logits = model(**inp, use_cache=False).logits.float()
    tgt = batch["labels"].cuda()[:, 1:]
    mask = tgt != -100
    pred = logits[:, :-1].argmax(-1)
    lp = torch.log_softmax(logits[:, :-1], -1).gather(-1, tgt.clamp(min=0)[..., None])[..., 0]
    loss = float(-(lp[mask]).mean())
    ok = ((pred == tgt) | ~mask).all(-1)
    return loss, [bool(x) for x in ok.tolist()]
