# Training-only probe heads on the vision tower's output tokens ("deep supervision"), used for the demo model.
#
# Why: the language-model loss reaches the vision tower only through six text layers and a word-by-word reply, a
# weak and noisy signal for learning to read. With the LM loss alone the 4-block tower did not learn to read a
# large word in 15 minutes (3 % on the large-word task, documents at chance), while colours and shapes were
# learned. These heads ask the tower's own output tokens -- exactly what the language model sees at the image
# positions -- for the sample's attributes (the title word, the digits of the total, the table's rows, the count,
# the shape, the colour), each through one attention glimpse and a small MLP. The heads are thrown away after
# training: the exported weights are plain Glm4vForConditionalGeneration weights.
import torch
import torch.nn as nn
import torch.nn.functional as F


class AuxReader(nn.Module):
    def __init__(self, dim, heads):
        """heads: {name: number of classes}."""
        super().__init__()
        self.names = list(heads)
        self.norm = nn.LayerNorm(dim)
        self.glimpse = nn.Linear(dim, len(self.names))  # one attention logit per head and token
        self.mlps = nn.ModuleDict({n: nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, k))
                                   for n, k in heads.items()})

    def forward(self, tokens, lengths, labels):
        """tokens [sum(lengths), dim]: the merged vision tokens of the batch's images, image after image;
        labels: one {head: class} dict per image. Returns (mean cross-entropy over the heads that have labels,
        {head: (correct, count)}) -- (None, {}) when no image carries a label."""
        x = self.norm(tokens.float())
        padded = nn.utils.rnn.pad_sequence(list(x.split(lengths)), batch_first=True)  # [B, L, D]
        mask = torch.arange(padded.shape[1], device=x.device)[None, :] < torch.tensor(lengths, device=x.device)[:, None]
        att = self.glimpse(padded).masked_fill(~mask[..., None], float("-inf")).softmax(1)  # [B, L, H]
        pooled = torch.einsum("blh,bld->bhd", att, padded)
        losses, stats = [], {}
        for h, name in enumerate(self.names):
            rows = [i for i, lab in enumerate(labels) if name in lab]
            if not rows:
                continue
            target = torch.tensor([labels[i][name] for i in rows], device=x.device)
            logits = self.mlps[name](pooled[torch.tensor(rows, device=x.device), h])
            losses.append(F.cross_entropy(logits, target))
            stats[name] = ((logits.argmax(-1) == target).sum().detach(), len(rows))
        if not losses:
            return None, {}
        return torch.stack(losses).mean(), stats


class MergerCapture:
    """Keeps the last output of the vision tower's merger (the tokens the language model receives)."""

    def __init__(self, model):
        self.out = None
        self.handle = model.model.visual.merger.register_forward_hook(self._hook)

    def _hook(self, module, args, output):
        self.out = output if torch.is_tensor(output) else output[0]

    def take(self):
        out, self.out = self.out, None
        return out
