# Deterministic synthetic visual-question data for the GLM-V demo model.
#
# Needs only Pillow and numpy (so that make_eval_set.py runs under Debian's /usr/bin/python3 on CI).
# Every random choice comes from a numpy Generator the caller seeds, e.g. np.random.default_rng([seed, index]),
# so a (seed, index) pair always gives the same sample. Text is drawn with the DejaVu fonts shipped in fonts/
# and Pillow's BASIC layout engine, so training (GPU machine) and evaluation (CI) render the same glyphs.
import math
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFont

HERE = os.path.dirname(os.path.abspath(__file__))
FONT_FILES = {False: os.path.join(HERE, "fonts", "DejaVuSans.ttf"),
              True: os.path.join(HERE, "fonts", "DejaVuSans-Bold.ttf")}
_FONTS = {}


def font(size, bold=False):
    key = (int(size), bool(bold))
    f = _FONTS.get(key)
    if f is None:
        try:
            basic = ImageFont.Layout.BASIC
        except AttributeError:  # very old Pillow
            basic = ImageFont.LAYOUT_BASIC
        f = ImageFont.truetype(FONT_FILES[key[1]], key[0], layout_engine=basic)
        _FONTS[key] = f
    return f


# ----------------------------------------------------------------------------------------------------------
# Vocabulary of the tasks
# ----------------------------------------------------------------------------------------------------------
COLORS = [  # english, chinese, base RGB
    ("red", "红色", (210, 35, 35)),
    ("green", "绿色", (40, 160, 60)),
    ("blue", "蓝色", (35, 75, 215)),
    ("yellow", "黄色", (235, 205, 25)),
    ("orange", "橙色", (245, 135, 25)),
    ("purple", "紫色", (135, 55, 175)),
    ("pink", "粉色", (240, 120, 185)),
    ("brown", "棕色", (125, 80, 40)),
    ("black", "黑色", (25, 25, 25)),
    ("gray", "灰色", (130, 130, 130)),
]
SHAPES = [  # english, plural, chinese, english hint, chinese hint
    ("circle", "circles", "圆形", "a round outline with no corners", "轮廓是圆的，没有角"),
    ("square", "squares", "正方形", "four equal sides and four right angles", "四条边相等，四个直角"),
    ("triangle", "triangles", "三角形", "three sides and three corners", "有三条边和三个角"),
    ("star", "stars", "星形", "five sharp points", "有五个尖角"),
    ("hexagon", "hexagons", "六边形", "six sides and six corners", "有六条边和六个角"),
    ("diamond", "diamonds", "菱形", "four sides standing on one corner", "四条边，一个角朝下立着"),
]
DIRECTIONS = [  # english, chinese, english from/to, chinese from/to
    ("left", "左", ("right", "left"), ("右边", "左边")),
    ("right", "右", ("left", "right"), ("左边", "右边")),
    ("up", "上", ("bottom", "top"), ("下面", "上面")),
    ("down", "下", ("top", "bottom"), ("上面", "下面")),
]
TITLES = ["Invoice", "Report", "Menu", "Receipt", "Notice", "Agenda", "Summary", "Budget", "Schedule",
          "Contract", "Letter", "Memo", "Order", "Survey", "Minutes", "Proposal", "Manual", "Guide", "Ticket",
          "Resume", "Catalog", "Journal", "Review", "Policy", "Statement", "Estimate", "Checklist", "Timetable"]
FILLER = ("the of and to in for on with as by at from this that we our you your all any each more most new "
          "some such time year day week month team office project plan data price item cost total amount note "
          "please see page section table number date due paid send order service customer account client "
          "product sales north south east west city street road market school store water power energy "
          "meeting review update report result value level rate change growth share group member staff "
          "work home family health food travel hotel room train bus flight ticket class course lesson student "
          "teacher book paper letter office phone email address name list item line card bank tax fee credit "
          "balance payment invoice receipt budget schedule contract policy guide manual summary agenda notice").split()
CHAT = [  # (english question, chinese question, think en, answer en, think zh, answer zh)
    ("Hello", "你好", "The user greets me.",
     "Hello! I am a tiny demo model. Send me an image, a document page or a short video and ask about "
     "colors, shapes, counts, titles or motion.",
     "用户在打招呼。", "你好！我是一个很小的演示模型。请发送图片、文档页面或短视频，问我颜色、形状、数量、标题或运动方向。"),
    ("Who are you?", "你是谁？", "The user asks who I am.",
     "I am a toy-size demo model with the GLM-4.1V architecture. I only know simple colors, shapes, counts, "
     "document titles and totals, and motion directions.",
     "用户问我是谁。", "我是一个GLM-4.1V架构的玩具级演示模型，只会识别简单的颜色、形状、数量、文档标题和总计，以及运动方向。"),
    ("What can you do?", "你能做什么？", "The user asks what I can do.",
     "I can tell the color or shape of an object, count objects, read the title, total or table rows of a "
     "document page, and say which way a ball moves in a video.",
     "用户问我能做什么。", "我可以说出物体的颜色或形状，数物体，读出文档的标题、总计或表格行数，并判断视频里的球向哪个方向移动。"),
    ("Thank you", "谢谢", "The user thanks me.", "You are welcome!", "用户在道谢。", "不客气！"),
]
SYSTEM_PROMPTS = ["You are a helpful assistant.", "You are a helpful visual assistant.", "你是一个乐于助人的助手。"]


def pick(rng, seq):
    return seq[int(rng.integers(len(seq)))]


def jitter_color(rng, rgb, amount=18):
    c = np.array(rgb) + rng.integers(-amount, amount + 1, size=3)
    return tuple(int(v) for v in np.clip(c, 0, 255))


def light_background(rng, w, h):
    base = rng.integers(222, 256, size=3)
    if rng.random() < 0.3:
        arr = np.empty((h, w, 3), np.int16)
        arr[:] = base
        arr += rng.integers(-7, 8, size=(h, w, 3), dtype=np.int16)
        return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
    return Image.new("RGB", (w, h), tuple(int(v) for v in base))


# ----------------------------------------------------------------------------------------------------------
# Shapes
# ----------------------------------------------------------------------------------------------------------
def _regular(cx, cy, r, n, start_deg, radii=None):
    pts = []
    for k in range(n):
        a = math.radians(start_deg + 360.0 * k / n)
        rr = r if radii is None else radii[k % len(radii)]
        pts.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
    return pts


def draw_shape(draw, shape, cx, cy, r, color, tilt):
    if shape == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=color)
        return
    if shape == "square":
        pts = _regular(cx, cy, r * 1.05, 4, 45 + tilt)
    elif shape == "diamond":
        pts = []
        for k, rr in enumerate((r * 1.1, r * 0.68, r * 1.1, r * 0.68)):
            a = math.radians(-90 + tilt + 90 * k)
            pts.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
    elif shape == "triangle":
        pts = _regular(cx, cy + r * 0.12, r * 1.1, 3, -90 + tilt)
    elif shape == "hexagon":
        pts = _regular(cx, cy, r, 6, tilt)
    elif shape == "star":
        pts = _regular(cx, cy + r * 0.05, r * 1.12, 10, -90 + tilt, radii=(r * 1.12, r * 0.45))
    else:
        raise ValueError(shape)
    draw.polygon(pts, fill=color)


def _img_size(rng):
    return int(rng.integers(180, 341)), int(rng.integers(180, 341))


def _lang(rng, zh_prob=0.3):
    return "zh" if rng.random() < zh_prob else "en"


def task_color(rng, lang=None):
    lang = lang or _lang(rng)
    w, h = _img_size(rng)
    img = light_background(rng, w, h)
    d = ImageDraw.Draw(img)
    ci = int(rng.integers(len(COLORS)))
    si = int(rng.integers(len(SHAPES)))
    r = float(rng.uniform(0.18, 0.34)) * min(w, h)
    cx = float(rng.uniform(r * 1.15, w - r * 1.15))
    cy = float(rng.uniform(r * 1.15, h - r * 1.15))
    draw_shape(d, SHAPES[si][0], cx, cy, r, jitter_color(rng, COLORS[ci][2]), float(rng.uniform(-8, 8)))
    en, zh = COLORS[ci][0], COLORS[ci][1]
    if lang == "en":
        q = pick(rng, ["What color is the shape?", "What color is the object in the image?",
                       f"What is the color of the {SHAPES[si][0]}?", "Which color is the shape in this picture?",
                       "What color is it?"])
        think, ans = f"The shape is filled with one color: {en}.", en
    else:
        q = pick(rng, ["图中形状是什么颜色？", "图片里的物体是什么颜色？", f"这个{SHAPES[si][2]}是什么颜色？",
                       "它是什么颜色？"])
        think, ans = f"这个形状填充的颜色是{zh}。", zh
    return dict(category="color", kind="image", image=img, question=q, think=think, answer=ans, lang=lang,
                aux=dict(color=ci, shape=si))


def task_shape(rng, lang=None):
    lang = lang or _lang(rng)
    w, h = _img_size(rng)
    img = light_background(rng, w, h)
    d = ImageDraw.Draw(img)
    ci = int(rng.integers(len(COLORS)))
    si = int(rng.integers(len(SHAPES)))
    r = float(rng.uniform(0.2, 0.36)) * min(w, h)
    cx = float(rng.uniform(r * 1.15, w - r * 1.15))
    cy = float(rng.uniform(r * 1.15, h - r * 1.15))
    draw_shape(d, SHAPES[si][0], cx, cy, r, jitter_color(rng, COLORS[ci][2]), float(rng.uniform(-8, 8)))
    name, _, zh, hint_en, hint_zh = SHAPES[si]
    if lang == "en":
        q = pick(rng, ["What shape is this?", "What shape is shown in the image?", "Which shape do you see?",
                       f"What shape is the {COLORS[ci][0]} object?", "Name the shape in the picture."])
        think, ans = f"It has {hint_en}, so it is a {name}.", name
    else:
        q = pick(rng, ["图中是什么形状？", "这是什么形状？", f"这个{COLORS[ci][1]}的物体是什么形状？", "图片里的图形叫什么？"])
        think, ans = f"它{hint_zh}，所以是{zh}。", zh
    return dict(category="shape", kind="image", image=img, question=q, think=think, answer=ans, lang=lang,
                aux=dict(shape=si, color=ci))


def _place(rng, w, h, n, r, gap):
    for _ in range(60):
        pts = []
        ok = True
        for _k in range(n):
            for _t in range(200):
                x = float(rng.uniform(r + 3, w - r - 3))
                y = float(rng.uniform(r + 3, h - r - 3))
                if all((x - px) ** 2 + (y - py) ** 2 >= (2 * r + gap) ** 2 for px, py in pts):
                    pts.append((x, y))
                    break
            else:
                ok = False
                break
        if ok:
            return pts
        r *= 0.9
    raise RuntimeError("could not place shapes")


def task_count(rng, lang=None, max_count=6):
    lang = lang or _lang(rng)
    w, h = _img_size(rng)
    img = light_background(rng, w, h)
    d = ImageDraw.Draw(img)
    n = int(rng.integers(1, max_count + 1))
    si = int(rng.integers(len(SHAPES)))
    r = float(rng.uniform(0.065, 0.1)) * min(w, h)
    same = rng.random() < 0.5
    ci0 = int(rng.integers(len(COLORS)))
    pts = _place(rng, w, h, n, r, gap=max(6.0, 0.35 * r))
    for x, y in pts:
        ci = ci0 if same else int(rng.integers(len(COLORS)))
        draw_shape(d, SHAPES[si][0], x, y, r, jitter_color(rng, COLORS[ci][2]), float(rng.uniform(-8, 8)))
    name, plural, zh = SHAPES[si][0], SHAPES[si][1], SHAPES[si][2]
    if lang == "en":
        q = pick(rng, [f"How many {plural} are in the image?", f"How many {plural} are there?",
                       "How many shapes are there?", "How many objects are in the picture?",
                       f"Count the {plural}."])
        noun = name if n == 1 else plural
        think, ans = f"I count the {plural} one by one and find {n} {noun}.", str(n)
    else:
        q = pick(rng, [f"图中有几个{zh}？", f"图片里一共有多少个{zh}？", "图中有几个图形？", "数一数图中有多少个物体。"])
        think, ans = f"我逐个数{zh}，一共有{n}个。", str(n)
    return dict(category="count", kind="image", image=img, question=q, think=think, answer=ans, lang=lang,
                aux=dict(count=n - 1, shape=si))


def task_text(rng, lang=None):
    """Large digits / numbers / short words on a plain background (training only)."""
    lang = lang or _lang(rng)
    w, h = _img_size(rng)
    img = light_background(rng, w, h)
    d = ImageDraw.Draw(img)
    is_num = rng.random() < 0.5
    text = str(int(rng.integers(0, 100))) if is_num else pick(rng, TITLES)
    dark = [c for c in COLORS if c[0] in ("red", "green", "blue", "purple", "brown", "black")]
    color = jitter_color(rng, pick(rng, dark)[2], 12)
    size = int(rng.integers(40, 76))
    f = font(size, bold=rng.random() < 0.6)
    while True:
        x0, y0, x1, y1 = d.textbbox((0, 0), text, font=f)
        if x1 - x0 <= w - 16 or size <= 20:
            break
        size -= 4
        f = font(size, bold=rng.random() < 0.6)
    tx = float(rng.uniform(8, max(9.0, w - 8 - (x1 - x0)))) - x0
    ty = float(rng.uniform(8, max(9.0, h - 8 - (y1 - y0)))) - y0
    d.text((tx, ty), text, fill=color, font=f)
    if lang == "en":
        if is_num:
            q = pick(rng, ["What number is shown in the image?", "Which number do you see?", "Read the number."])
        else:
            q = pick(rng, ["What word is written in the image?", "Read the word in the picture.", "What does the text say?"])
        think = f"The image shows the text {text}."
    else:
        q = pick(rng, ["图中显示的数字是多少？", "读出图中的数字。"]) if is_num else pick(rng, ["图中写的是什么单词？", "读出图片里的单词。"])
        think = f"图中写着{text}。"
    aux = dict(tens=int(text) // 10, ones=int(text) % 10) if is_num else dict(word=TITLES.index(text))
    return dict(category="text", kind="image", image=img, question=q, think=think, answer=text, lang=lang, aux=aux)


# ----------------------------------------------------------------------------------------------------------
# Document pages: white page, black text, large title / total / table (180 dpi page of 720x960 pixels)
# ----------------------------------------------------------------------------------------------------------
PAGE_W, PAGE_H, PAGE_DPI = 720, 960, 180


def _words(rng, n):
    return " ".join(pick(rng, FILLER) for _ in range(n))


def make_document(rng):
    page = Image.new("L", (PAGE_W, PAGE_H), 255)
    d = ImageDraw.Draw(page)
    ink = int(rng.integers(0, 40))
    margin = int(rng.integers(44, 70))
    title = pick(rng, TITLES)
    tsize = int(rng.integers(58, 74))
    tf = font(tsize, bold=True)
    x0, y0, x1, y1 = d.textbbox((0, 0), title, font=tf)
    y = int(rng.integers(36, 64))
    tx = margin if rng.random() < 0.6 else (PAGE_W - (x1 - x0)) // 2
    d.text((tx - x0, y - y0), title, fill=ink, font=tf)
    y += (y1 - y0) + int(rng.integers(14, 26))
    if rng.random() < 0.7:  # a small subtitle line
        sf = font(int(rng.integers(20, 25)))
        d.text((margin, y), _words(rng, int(rng.integers(3, 6))).capitalize() + f" {int(rng.integers(2000, 2031))}",
               fill=ink, font=sf)
        y += 34
    d.line([(margin, y), (PAGE_W - margin, y)], fill=ink, width=2)
    y += int(rng.integers(16, 28))

    rows = int(rng.integers(2, 7))
    total = int(rng.integers(10, 100))
    blocks = ["table", "total"] + ["para"] * int(rng.integers(1, 4))
    order = rng.permutation(len(blocks))
    blocks = [blocks[i] for i in order]
    body_size = int(rng.integers(21, 26))
    bf = font(body_size)
    line_h = int(body_size * 1.45)
    for b in blocks:
        if b == "para":
            nlines = int(rng.integers(2, 5))
            need = nlines * line_h + 22
            if y + need > PAGE_H - 150:  # keep room for whatever must still come
                continue
            for _ in range(nlines):
                text = _words(rng, int(rng.integers(5, 9)))
                if rng.random() < 0.3:
                    text += f" {int(rng.integers(1, 1000))}"
                while d.textlength(text, font=bf) > PAGE_W - 2 * margin and " " in text:
                    text = text.rsplit(" ", 1)[0]
                d.text((margin, y), text.capitalize(), fill=ink, font=bf)
                y += line_h
            y += 22
        elif b == "table":
            rh = int(rng.integers(40, 50))
            cols = 3
            tw = PAGE_W - 2 * margin - int(rng.integers(0, 120))
            cw = tw // cols
            cf = font(int(rng.integers(21, 26)))
            for rr in range(rows + 1):
                d.line([(margin, y + rr * rh), (margin + cols * cw, y + rr * rh)], fill=ink, width=2)
            for cc in range(cols + 1):
                d.line([(margin + cc * cw, y), (margin + cc * cw, y + rows * rh)], fill=ink, width=2)
            for rr in range(rows):
                for cc in range(cols):
                    cell = pick(rng, FILLER) if cc == 0 else str(int(rng.integers(1, 500)))
                    d.text((margin + cc * cw + 10, y + rr * rh + (rh - 26) // 2), cell, fill=ink, font=cf)
            y += rows * rh + 28
        else:  # total
            # Nearly title-sized: the demo's processor shrinks the page to about 364x504, where 44-56 px digits
            # became 1-1.5 patches wide and the small vision tower could not tell them apart.
            f = font(int(rng.integers(54, 68)), bold=True)
            label = f"Total: {total}"
            x0, y0, x1, y1 = d.textbbox((0, 0), label, font=f)
            tx = margin if rng.random() < 0.5 else PAGE_W - margin - (x1 - x0)
            d.text((tx - x0, y - y0), label, fill=ink, font=f)
            y += (y1 - y0) + 30
    if rng.random() < 0.5:
        pf = font(20)
        d.text((PAGE_W // 2 - 30, PAGE_H - 44), f"Page {int(rng.integers(1, 20))}", fill=ink, font=pf)
    return page, dict(title=title, total=str(total), rows=str(rows))


DOC_QTYPES = ("title", "total", "rows")
# Training asks about totals most: titles (28 words) and row counts (2-6) are learned long before 90 two-digit
# numbers are. The held-out set asks all three questions of every page.
DOC_TRAIN_QTYPE_WEIGHTS = (0.25, 0.5, 0.25)


def doc_question(rng, info, qtype, lang):
    if qtype == "title":
        if lang == "en":
            q = pick(rng, ["What is the title of this document?", "What is the title of the page?",
                           "What does the heading say?"])
            think = f"The large heading at the top of the page reads {info['title']}."
        else:
            q = pick(rng, ["这份文件的标题是什么？", "这页文档的标题是什么？"])
            think = f"页面顶部的大标题写着{info['title']}。"
        return q, think, info["title"]
    if qtype == "total":
        if lang == "en":
            q = pick(rng, ["What is the total?", "What is the total amount on this page?", "What number is the total?"])
            think = f"The bold line says Total: {info['total']}."
        else:
            q = pick(rng, ["总计是多少？", "这页上的总计是多少？"])
            think = f"加粗的一行写着Total: {info['total']}。"
        return q, think, info["total"]
    if lang == "en":
        q = pick(rng, ["How many rows does the table have?", "How many rows are in the table?"])
        think = f"I count the rows of the table: {info['rows']}."
    else:
        q = pick(rng, ["表格有几行？", "这个表格一共有多少行？"])
        think = f"我数了表格的行数，共{info['rows']}行。"
    return q, think, info["rows"]


def task_document(rng, lang=None):
    lang = lang or _lang(rng)
    page, info = make_document(rng)
    qtype = DOC_QTYPES[int(rng.choice(len(DOC_QTYPES), p=DOC_TRAIN_QTYPE_WEIGHTS))]
    q, think, ans = doc_question(rng, info, qtype, lang)
    total = int(info["total"])
    aux = dict(word=TITLES.index(info["title"]), tens=total // 10, ones=total % 10, rows=int(info["rows"]) - 2)
    return dict(category="document", kind="page", image=page, question=q, think=think, answer=ans, lang=lang,
                qtype=qtype, aux=aux)


# ----------------------------------------------------------------------------------------------------------
# Videos: a ball moving left / right / up / down
# ----------------------------------------------------------------------------------------------------------
def make_video(rng, w=None, h=None, fps=None, duration=None):
    w = w or int(pick(rng, [168, 196, 224, 252, 280]))
    h = h or int(pick(rng, [140, 168, 196, 224]))
    fps = fps or int(pick(rng, [8, 10, 12, 15]))
    duration = duration or float(pick(rng, [3.0, 3.5, 4.0, 4.5, 5.0]))
    n = max(2, int(round(duration * fps)))
    di = int(rng.integers(4))
    ci = int(rng.integers(len(COLORS) - 1))  # any but gray
    r = float(rng.uniform(0.08, 0.14)) * min(w, h)
    bg = rng.integers(205, 256, size=3).astype(np.uint8)
    color = np.array(jitter_color(rng, COLORS[ci][2]), np.uint8)
    # travel along the axis from 15-30 % to 70-85 % of the frame, with a little drift across it
    a0, a1 = float(rng.uniform(0.15, 0.3)), float(rng.uniform(0.7, 0.85))
    c = float(rng.uniform(0.3, 0.7))
    drift = float(rng.uniform(-0.06, 0.06))
    name = DIRECTIONS[di][0]
    if name in ("left", "up"):
        a0, a1 = 1 - a0, 1 - a1
    yy = np.arange(h, dtype=np.float32)[:, None]
    xx = np.arange(w, dtype=np.float32)[None, :]
    frames = np.empty((n, h, w, 3), np.uint8)
    frames[:] = bg
    distract = None
    if rng.random() < 0.3:  # a static square elsewhere
        dcol = np.array(jitter_color(rng, COLORS[int(rng.integers(len(COLORS)))][2]), np.uint8)
        ds = int(r * 0.8)
        dx = int(rng.integers(2, max(3, w - 2 * ds - 2)))
        dy = int(rng.integers(2, max(3, h - 2 * ds - 2)))
        distract = (dx, dy, ds, dcol)
    for t in range(n):
        f = t / max(1, n - 1)
        along = a0 + (a1 - a0) * f
        across = c + drift * f
        if name in ("left", "right"):
            cx, cy = along * w, across * h
        else:
            cx, cy = across * w, along * h
        if distract is not None:
            dx, dy, ds, dcol = distract
            frames[t, dy:dy + 2 * ds, dx:dx + 2 * ds] = dcol
        x0, x1 = max(0, int(cx - r) - 1), min(w, int(cx + r) + 2)
        y0, y1 = max(0, int(cy - r) - 1), min(h, int(cy + r) + 2)
        m = (xx[:, x0:x1] - cx) ** 2 + (yy[y0:y1] - cy) ** 2 <= r * r
        frames[t, y0:y1, x0:x1][m] = color
    return frames, fps, dict(direction=name, di=di, color_index=ci)


def video_question(rng, info, lang, qtype="motion"):
    di = info["di"]
    en, zh, (fe, te), (fz, tz) = DIRECTIONS[di]
    if qtype == "motion":
        if lang == "en":
            q = pick(rng, ["Which direction is the ball moving?", "In which direction does the ball move?",
                           "Is the ball moving left, right, up or down?", "Where is the ball going?"])
            think = f"The ball starts near the {fe} and ends near the {te}."
            return q, think, en
        q = pick(rng, ["球向哪个方向移动？", "视频里的球往哪个方向运动？", "球是向左、向右、向上还是向下移动？"])
        return q, f"球从{fz}移动到{tz}。", zh
    cen, czh, _ = COLORS[info["color_index"]]
    if lang == "en":
        q = pick(rng, ["What color is the ball?", "What color is the moving ball?"])
        return q, f"The moving ball is {cen}.", cen
    q = pick(rng, ["球是什么颜色？", "移动的球是什么颜色？"])
    return q, f"移动的球是{czh}。", czh


def task_video(rng, lang=None):
    lang = lang or _lang(rng)
    frames, fps, info = make_video(rng)
    qtype = "motion" if rng.random() < 0.75 else "color"
    q, think, ans = video_question(rng, info, lang, qtype)
    return dict(category="video" if qtype == "motion" else "video_color", kind="video", frames=frames, fps=fps,
                question=q, think=think, answer=ans, lang=lang)


def task_chat(rng, lang=None):
    lang = lang or _lang(rng, 0.4)
    qe, qz, te, ae, tz, az = pick(rng, CHAT)
    if lang == "en":
        return dict(category="chat", kind="text", question=qe, think=te, answer=ae, lang=lang)
    return dict(category="chat", kind="text", question=qz, think=tz, answer=az, lang=lang)


# Image/page/text samples; videos come in whole batches of their own (transformers' Glm4v marks video frames
# with the image token id, so one batch must not mix pixel_values and pixel_values_videos).
# Documents get the largest share: reading a title or a two-digit total is the hardest task here.
TRAIN_MIX_STILL = [(task_color, 0.10), (task_shape, 0.10), (task_count, 0.20), (task_text, 0.07),
                   (task_document, 0.50), (task_chat, 0.03)]
VIDEO_BATCH_FRACTION = 0.2


# Classes of the training-only probe heads (aux_reader.py); every still-image task labels what its image shows.
AUX_HEADS = {"color": len(COLORS), "shape": len(SHAPES), "count": 6, "word": len(TITLES), "tens": 10, "ones": 10,
             "rows": 5}


def is_video_batch(seed, batch_index, fraction=None):
    return np.random.default_rng([seed, batch_index, 77]).random() < (VIDEO_BATCH_FRACTION if fraction is None
                                                                      else fraction)


# The first batches teach only the easy still-image tasks (curriculum), so that the text side learns to read
# the image tokens before documents arrive.
TRAIN_MIX_EASY = [(task_color, 0.3), (task_shape, 0.3), (task_count, 0.4)]


def mix_from_spec(spec):
    """'color=0.05,shape=0.2,...' -> [(task_fn, weight)] in TRAIN_MIX_STILL's order, weights normalised."""
    names = {fn.__name__[len("task_"):]: fn for fn, _ in TRAIN_MIX_STILL}
    w = {}
    for part in spec.split(","):
        k, v = part.split("=")
        if k not in names:
            raise ValueError(f"unknown task '{k}' in the mix (known: {', '.join(names)})")
        w[k] = float(v)
    total = sum(w.values())
    return [(fn, w.get(k, 0.0) / total) for k, fn in names.items()]


def training_sample(rng, video=False, easy=False, mix=None):
    if video:
        return task_video(rng)
    u = rng.random()
    acc = 0.0
    for fn, p in (TRAIN_MIX_EASY if easy else (mix or TRAIN_MIX_STILL)):
        acc += p
        if u < acc:
            return fn(rng)
    return TRAIN_MIX_STILL[-1][0](rng)


def assistant_text(s):
    return f"<think>{s['think']}</think><answer>{s['answer']}</answer>"


# ----------------------------------------------------------------------------------------------------------
# A minimal PDF writer / reader for page images (8-bit gray, Flate), used by make_eval_set.py
# ----------------------------------------------------------------------------------------------------------
def _num(v):
    s = ("%.4f" % v).rstrip("0").rstrip(".")
    return s.encode()


def write_pdf(path, pages, dpi=PAGE_DPI):
    """Writes one page per image; each page is exactly the image at `dpi` (so poppler at `dpi` gives it back)."""
    import zlib
    objs = [None, None]
    kids = []
    for img in pages:
        g = img.convert("L")
        w, h = g.size
        data = zlib.compress(g.tobytes(), 9)
        objs.append(b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
                    b"/BitsPerComponent 8 /Filter /FlateDecode /Length %d >>\nstream\n" % (w, h, len(data))
                    + data + b"\nendstream")
        im_id = len(objs)
        pw, ph = _num(w * 72.0 / dpi), _num(h * 72.0 / dpi)
        content = b"q " + pw + b" 0 0 " + ph + b" 0 0 cm /Im0 Do Q"
        objs.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        c_id = len(objs)
        objs.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 " + pw + b" " + ph + b"] /Resources << /XObject "
                    b"<< /Im0 %d 0 R >> >> /Contents %d 0 R >>" % (im_id, c_id))
        kids.append(len(objs))
    objs[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objs[1] = b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % k for k in kids) + b"] /Count %d >>" % len(kids)
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offs = []
    for i, o in enumerate(objs, 1):
        offs.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offs)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    with open(path, "wb") as f:
        f.write(bytes(out))


def read_pdf_pages(path):
    """Reads back the page images of a PDF written by write_pdf (no general PDF support)."""
    import re
    import zlib
    raw = open(path, "rb").read()
    pages = []
    for m in re.finditer(rb"/Subtype /Image /Width (\d+) /Height (\d+) .*?/Length (\d+) >>\nstream\n", raw):
        w, h, n = int(m.group(1)), int(m.group(2)), int(m.group(3))
        data = zlib.decompress(raw[m.end():m.end() + n])
        pages.append(Image.frombytes("L", (w, h), data))
    return pages
