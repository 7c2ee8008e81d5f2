# A faster, mathematically identical replacement for a per-image Python loop in transformers' Glm4v vision tower,
# used only for training the demo model.
#
# Why: with sdpa, Glm4vVisionAttention splits the packed patch sequence into one attention call per image (per
# temporal slice for videos) in every block; with 64 small images per batch that loop costs more than the
# attention. Here every block runs one padded, masked attention call for the whole batch (113 ms instead of 168 ms
# per forward+backward of a batch on the H100).
#
# Nothing is trusted blindly: install() runs the original and the patched model on a real batch (fp32, no
# autocast) and keeps a patch only if the loss and every gradient agree; the exported weights are plain
# Glm4vForConditionalGeneration weights either way (the C++ engine and transformers run them unpatched).
import time

import torch
import torch.nn.functional as F


def _pad_plan(cu_seqlens):
    """Index vectors between the packed layout [S] and the padded layout [B * L] for the sequences of
    cu_seqlens, cached on the tensor (every block of one forward gets the same cu_seqlens object). Gathers with
    index_select in both directions: its backward is an index_add (no sort, no host sync), unlike boolean-mask
    indexing, whose backward (a sorting, accumulating index_put) cost 10 ms per call on the H100."""
    plan = getattr(cu_seqlens, "_glmv_pad_plan", None)
    if plan is None:
        c = torch.as_tensor(cu_seqlens.tolist(), dtype=torch.long)
        starts, lens = c[:-1], c[1:] - c[:-1]
        longest = int(lens.max())
        ar = torch.arange(longest)
        valid = ar[None, :] < lens[:, None]
        to_padded = torch.where(valid, starts[:, None] + ar[None, :], torch.zeros((), dtype=torch.long))
        to_packed = valid.reshape(-1).nonzero()[:, 0]
        dev = cu_seqlens.device
        plan = (len(lens), longest, to_padded.reshape(-1).to(dev, non_blocking=True),
                to_packed.to(dev, non_blocking=True), valid.to(dev, non_blocking=True))
        cu_seqlens._glmv_pad_plan = plan
    return plan


def padded_vision_attention_forward(self, hidden_states, cu_seqlens, rotary_pos_emb=None,
                                    position_embeddings=None, **kwargs):
    from transformers.models.glm4v import modeling_glm4v as hf
    seq = hidden_states.shape[0]
    q, k, v = self.qkv(hidden_states).reshape(seq, 3, self.num_heads, -1).permute(1, 0, 2, 3).unbind(0)
    if position_embeddings is None:
        emb = torch.cat((rotary_pos_emb, rotary_pos_emb), dim=-1)
        position_embeddings = (emb.cos(), emb.sin())
    q, k = hf.apply_rotary_pos_emb_vision(q, k, *position_embeddings)
    n, longest, to_padded, to_packed, valid = _pad_plan(cu_seqlens)

    def padded(x):  # [S, H, D] -> [B, H, L, D]; padding slots repeat row 0 and are masked out as keys
        return x.index_select(0, to_padded).view(n, longest, x.shape[1], x.shape[2]).transpose(1, 2)

    out = F.scaled_dot_product_attention(padded(q), padded(k), padded(v), attn_mask=valid[:, None, None, :],
                                         dropout_p=0.0, scale=self.scaling)
    out = out.transpose(1, 2).reshape(n * longest, -1).index_select(0, to_packed)  # [S, H * D], packed order
    return self.proj(out)


def _loss_and_grads(model, batch):
    model.zero_grad(set_to_none=True)
    loss = model(**batch, use_cache=False).loss
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    return float(loss), grads


def _agrees(ref, new, log, name):
    (l0, g0), (l1, g1) = ref, new
    worst = 0.0
    for n, g in g0.items():
        if n not in g1:
            log(f"fastpath {name}: gradient of {n} missing")
            return False
        worst = max(worst, float((g1[n] - g).norm() / (g.norm() + 1e-12)))
    ok = abs(l1 - l0) <= 1e-5 * max(1.0, abs(l0)) and worst < 1e-4 and set(g1) == set(g0)
    log(f"fastpath {name}: loss {l0:.6f} vs {l1:.6f}, worst relative gradient difference {worst:.2e} -> "
        f"{'used' if ok else 'NOT used'}")
    return ok


def install(model, batches, log=print):
    """Patches the model's vision tower where the patched version agrees with the original on `batches`
    (a list of collated batches already on the GPU, without 'categories'). Returns the names of the patches."""
    attn_cls = type(model.model.visual.blocks[0].attn)
    used = []
    was_training = model.training
    model.train()
    refs = [_loss_and_grads(model, b) for b in batches]
    candidates = [("padded vision attention", attn_cls, "forward", padded_vision_attention_forward)]
    for name, cls, attr, fn in candidates:
        original = getattr(cls, attr)
        setattr(cls, attr, fn)
        try:
            ok = all(_agrees(r, _loss_and_grads(model, b), log, name) for r, b in zip(refs, batches))
        except Exception as e:  # a transformers version whose internals differ: keep its own code
            log(f"fastpath {name}: failed ({repr(e)[:200]}) -> NOT used")
            ok = False
        if ok:
            used.append(name)
        else:
            setattr(cls, attr, original)
    model.train(was_training)
    return used


def time_steps(model, batches, reps=3):
    """Seconds per forward+backward (bf16 autocast) over the batches, after one warm-up pass."""
    def run():
        for b in batches:
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = model(**b, use_cache=False).loss
            loss.backward()
            model.zero_grad(set_to_none=True)
    run()
    torch.cuda.synchronize()
    t0 = time.time()
    for _ in range(reps):
        run()
    torch.cuda.synchronize()
    return (time.time() - t0) / (reps * len(batches))
