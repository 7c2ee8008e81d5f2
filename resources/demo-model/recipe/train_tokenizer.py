#!/usr/bin/env python3
"""Trains the demo model's small byte-level BPE and writes tokenizer.json + tokenizer_config.json.

    python3 train_tokenizer.py OUTDIR [--vocab 4000] [--seed 1]

Same pre-tokenizer (the GLM-4 Split regex + ByteLevel without regex), post-processor, decoder and
`ignore_merges` as GLM-4.1V-9B-Thinking's tokenizer.json; the same 23 special / added token strings in the same
order, with ids right after the BPE vocabulary (GLM-4.1V: 151329..151351). The corpus is the synthetic task text
(questions, reasoning, answers in English and Chinese) plus the filler words of the document pages.
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synth  # noqa: E402

# Settings copied from the real tokenizer.json (they are configuration values).
SPLIT_REGEX = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
               "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")
PRE_TOKENIZER = {"type": "Sequence", "pretokenizers": [
    {"type": "Split", "pattern": {"Regex": SPLIT_REGEX}, "behavior": "Isolated", "invert": False},
    {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
POST_PROCESSOR = {"type": "Sequence", "processors": [
    {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True}]}
DECODER = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
# (string, special) in GLM-4.1V order: ids base+0 .. base+22 (real: 151329 .. 151351)
SPECIAL_TOKENS = [("<|endoftext|>", True), ("[MASK]", True), ("[gMASK]", True), ("[sMASK]", True), ("<sop>", True),
                  ("<eop>", True), ("<|system|>", True), ("<|user|>", True), ("<|assistant|>", True),
                  ("<|observation|>", True), ("<|begin_of_image|>", True), ("<|end_of_image|>", True),
                  ("<|begin_of_video|>", True), ("<|end_of_video|>", True), ("<|image|>", True), ("<|video|>", True),
                  ("<think>", False), ("</think>", False), ("<answer>", False), ("</answer>", False),
                  ("<|begin_of_box|>", False), ("<|end_of_box|>", False), ("<|sep|>", False)]


def corpus(seed, n):
    fns = [synth.task_color, synth.task_shape, synth.task_count, synth.task_text, synth.task_chat]
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        lang = "zh" if i % 3 == 0 else "en"
        fn = fns[i % len(fns)]
        s = fn(rng, lang)
        yield s["question"] + "\n" + s["think"] + " " + s["answer"]
        if i % 4 == 0:
            page, info = synth.make_document(rng) if i % 40 == 0 else (None, dict(
                title=synth.pick(rng, synth.TITLES), total=str(int(rng.integers(10, 100))), rows=str(int(rng.integers(2, 7)))))
            for qt in synth.DOC_QTYPES:
                q, t, a = synth.doc_question(rng, info, qt, lang)
                yield q + "\n" + t + " " + a
            frames_info = dict(di=int(rng.integers(4)), color_index=int(rng.integers(9)))
            for qt in ("motion", "color"):
                q, t, a = synth.video_question(rng, frames_info, lang, qt)
                yield q + "\n" + t + " " + a
            yield synth._words(rng, 12).capitalize() + f" {int(rng.integers(0, 10000))}."
    for w in synth.TITLES + synth.FILLER:
        for form in (w, w.lower(), w.capitalize(), w.upper()):
            yield " " + form
            yield form
    for k in range(1000):
        yield f"{k} {k}. Total: {k}, Page {k}"


def drop_digit_merges(vocab, merges):
    """Removes every multi-digit token, so numbers are spelled digit by digit.

    Why: with 1000 number tokens a two-digit total on a page is one of 90 rare output classes, and the tiny model
    must tie each one to a (tens, ones) pair it sees in the vision tokens; it named the right one in 30 % of pages
    while probes on the same vision tokens read both digits 96 % of the time. Spelled digit by digit, the reply
    uses the same ten tokens for every number. The pre-tokenizer isolates runs of digits (\\p{N}{1,3}), so digit
    merges never combine with anything else and removing them leaves every other merge valid."""
    def multi_digit(tok):  # ASCII digits only: byte-level symbols such as '²' (byte 0xB2) count as isdigit()
        return len(tok) > 1 and all("0" <= c <= "9" for c in tok)

    kept = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1]) if not multi_digit(t)]
    merges = [m for m in merges if not multi_digit(m[0] + m[1])]
    return {t: i for i, t in enumerate(kept)}, merges


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--vocab", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--samples", type=int, default=30000)
    ap.add_argument("--model-max-length", type=int, default=8192)
    ap.add_argument("--keep-digit-merges", action="store_true", help="keep multi-digit tokens (models 1-4)")
    a = ap.parse_args()
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers, Regex

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(SPLIT_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=a.vocab, min_frequency=2, show_progress=False, special_tokens=[],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus(a.seed, a.samples), trainer=trainer)
    j = json.loads(tok.to_str())
    model = j["model"]
    vocab = model["vocab"]
    base = len(vocab)
    assert sorted(vocab.values()) == list(range(base)), "vocab ids must be dense"
    merges = [m if isinstance(m, list) else m.split(" ", 1) for m in model["merges"]]
    if not a.keep_digit_merges:
        vocab, merges = drop_digit_merges(vocab, merges)
        base = len(vocab)
    added = []
    for k, (content, special) in enumerate(SPECIAL_TOKENS):
        added.append({"id": base + k, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
                      "normalized": False, "special": special})
    out = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": PRE_TOKENIZER,
        "post_processor": POST_PROCESSOR,
        "decoder": DECODER,
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": True,
                  "vocab": dict(sorted(vocab.items(), key=lambda kv: kv[1])), "merges": merges},
    }
    os.makedirs(a.outdir, exist_ok=True)
    with open(os.path.join(a.outdir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=2)
    # tokenizer_config.json in the layout of GLM-4.1V's
    decoder = {str(t["id"]): {"content": t["content"], "lstrip": False, "normalized": False, "rstrip": False,
                              "single_word": False, "special": t["special"]} for t in added}
    cfg = {"added_tokens_decoder": decoder,
           "additional_special_tokens": [c for c, s in SPECIAL_TOKENS if s],
           "clean_up_tokenization_spaces": False, "do_lower_case": False,
           "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
           "model_input_names": ["input_ids", "attention_mask"], "model_max_length": a.model_max_length,
           "padding_side": "left", "remove_space": False, "tokenizer_class": "PreTrainedTokenizerFast"}
    with open(os.path.join(a.outdir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, ensure_ascii=False, indent=2)
    # sanity: reload, round-trip, special tokens are single ids
    t2 = Tokenizer.from_file(os.path.join(a.outdir, "tokenizer.json"))
    ids = {c: base + k for k, (c, _) in enumerate(SPECIAL_TOKENS)}
    sample = ("[gMASK]<sop><|user|>\n<|begin_of_image|><|image|><|image|><|end_of_image|>What color is the shape?"
              "<|assistant|>\n<think>The shape is red.</think><answer>red</answer>")
    enc = t2.encode(sample, add_special_tokens=False)
    assert ids["[gMASK]"] == enc.ids[0] and ids["<|image|>"] in enc.ids and ids["</answer>"] == enc.ids[-1], enc.ids
    for text in ["Hello world, 123456!", "图中有几个圆形？ 我数到3个。", "Total: 47\n  two  spaces"]:
        e = t2.encode(text, add_special_tokens=False)
        assert t2.decode(e.ids, skip_special_tokens=False) == text, (text, t2.decode(e.ids))
    if not a.keep_digit_merges:
        assert t2.encode("Total: 47", add_special_tokens=False).tokens[-2:] == ["4", "7"]
    print(json.dumps({"bpe_vocab": base, "merges": len(merges), "special_ids": ids,
                      "sample_tokens": len(enc.ids)}, ensure_ascii=False))


if __name__ == "__main__":
    main()
