"""The model folder's static files (tokenizer, chat template, processor configs); no torch needed, so the
folder can be completed on a machine without it."""
import json
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))

# ---- preprocessing: patch 14, merge 2, temporal 2, CLIP mean/std; small pixel budgets ---------------------
IMAGE_MAX_PIXELS = 401408      # t(2)*h*w <= this: at most 200704 pixels = 1024 patches = 256 tokens per image
VIDEO_MAX_PIXELS = 1605632     # frames*h*w <= this: 8 sampled frames up to 448x448 stay unresized
MIN_PIXELS = 12544
MEAN = [0.48145466, 0.4578275, 0.40821073]
STD = [0.26862954, 0.26130258, 0.27577711]


def write_static_files(out, tok_dir):
    os.makedirs(out, exist_ok=True)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(tok_dir, f), os.path.join(out, f))
    shutil.copy(os.path.join(HERE, "chat_template.jinja"), os.path.join(out, "chat_template.jinja"))
    pre = {"size": {"shortest_edge": MIN_PIXELS, "longest_edge": IMAGE_MAX_PIXELS}, "do_rescale": True,
           "patch_size": 14, "temporal_patch_size": 2, "merge_size": 2, "image_mean": MEAN, "image_std": STD,
           "image_processor_type": "Glm4vImageProcessor", "processor_class": "Glm4vProcessor"}
    vpre = {"size": {"shortest_edge": MIN_PIXELS, "longest_edge": VIDEO_MAX_PIXELS}, "do_rescale": True,
            "patch_size": 14, "temporal_patch_size": 2, "merge_size": 2, "fps": 2, "max_duration": 300,
            "image_mean": MEAN, "image_std": STD, "video_processor_type": "Glm4vVideoProcessor",
            "processor_class": "Glm4vProcessor"}
    with open(os.path.join(out, "preprocessor_config.json"), "w") as f:
        json.dump(pre, f, indent=2)
    with open(os.path.join(out, "video_preprocessor_config.json"), "w") as f:
        json.dump(vpre, f, indent=2)
