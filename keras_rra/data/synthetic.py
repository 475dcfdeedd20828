"""A seeded synthetic fine-grained dataset: the class is in a small part.

Two presets. `easy` (the default, `synthetic`) is described below. `hard`
(`synthetic:hard`) is made so that a model must look closer: the class is a
pixel-scale texture that a view at half the resolution cannot read at all
(see `generate`).

Every image shows a cluttered, textured background and one elongated body
("a bird") of random colour, size, position and rotation: all independent of
the class. The class is encoded only in a small part (at most 3% of the image
area) at the head end of the body's long axis, as a combination of a shape
and a colour. To classify it a model must find the part and look at it
closely, which is what fine-grained methods are for. Each example also
carries the part's true box, so that localisation can be measured.
"""

import functools
import math
import os

import numpy as np
from PIL import Image
from PIL import ImageDraw

PART_SHAPES = ("circle", "square", "triangle", "ring", "cross", "star")
PART_COLOURS = {
    "red": (220, 40, 40),
    "green": (40, 175, 60),
    "blue": (45, 85, 225),
    "yellow": (240, 215, 40),
    "magenta": (205, 50, 205),
    "cyan": (40, 205, 215),
}
MAX_CLASSES = len(PART_SHAPES) * len(PART_COLOURS)
SPLITS = ("train", "test")
# Body length as a fraction of the image side, and the part's half-size.
BODY_LENGTH = (0.35, 0.60)
PART_RADIUS = 0.075
MAX_PART_AREA = 0.03
# `plain`, `distractors` and `faint` are drawn by `keras_rra.data.part_scenes`.
PRESETS = ("easy", "hard", "plain", "distractors", "faint")
SCENE_PRESETS = ("plain", "distractors", "faint")
# The source side, in global views, that a preset is drawn to be read at
# (`keras-rra train` sets `input_size` from it).
SOURCE_SCALE = {"hard": 2, "plain": 2, "distractors": 3, "faint": 3}
# Their classes: one of 6 shapes in red or blue.
SCENE_SHAPES = PART_SHAPES
SCENE_COLOURS = ("red", "blue")
SCENE_MAX_CLASSES = len(SCENE_SHAPES) * len(SCENE_COLOURS)


# The hard preset: a square mark whose inside is a 2x2-periodic texture of
# two colours. Every texture and colour pair has the same mean colour (mid
# grey), and the texture is aligned to even pixel coordinates, so a 2x2
# average (which is what resizing to half the side bilinearly computes) turns
# every class into the same grey square. At full resolution the texture is
# plain to see. The mark sits at either end of the body, chosen at random.
HARD_TEXTURES = ("rows", "columns", "checks")
HARD_COLOUR_PAIRS = {
    "grey": ((0, 0, 0), (255, 255, 255)),
    "redcyan": ((255, 0, 0), (0, 255, 255)),
    "greenmagenta": ((0, 255, 0), (255, 0, 255)),
    "blueyellow": ((0, 0, 255), (255, 255, 0)),
}
HARD_MAX_CLASSES = len(HARD_TEXTURES) * len(HARD_COLOUR_PAIRS)
# Side of the textured square and width of its black frame, relative to the
# image side (both rounded to even pixels).
HARD_TEXTURE_SIDE = 0.0625
HARD_FRAME = 0.016


def check_preset(preset):
    if preset not in PRESETS:
        raise ValueError(
            f"Unknown synthetic preset {preset!r}; known presets: "
            f"{', '.join(PRESETS)} (dataset names synthetic, "
            + ", ".join(f"synthetic:{name}" for name in PRESETS if name != "easy")
            + ")."
        )
    return preset


def max_classes(preset="easy"):
    """How many classes a preset can draw."""
    if check_preset(preset) in SCENE_PRESETS:
        return SCENE_MAX_CLASSES
    return HARD_MAX_CLASSES if preset == "hard" else MAX_CLASSES


def class_parts(num_classes, preset="easy"):
    """(shape, colour) of each class, interleaved so that neighbouring
    classes differ in shape, colour or both; for the hard preset
    (texture, colour pair)."""
    limit = max_classes(preset)
    if not 2 <= num_classes <= limit:
        raise ValueError(
            f"The synthetic dataset ({preset} preset) has between 2 and {limit} "
            f"classes; received num_classes={num_classes}."
        )
    if preset in SCENE_PRESETS:
        return scene_parts(num_classes)
    if preset == "hard":
        pairs = list(HARD_COLOUR_PAIRS)
        return [
            (
                HARD_TEXTURES[index % len(HARD_TEXTURES)],
                pairs[
                    (index % len(HARD_TEXTURES) + index // len(HARD_TEXTURES))
                    % len(pairs)
                ],
            )
            for index in range(num_classes)
        ]
    colours = list(PART_COLOURS)
    parts = []
    for index in range(num_classes):
        shape = index % len(PART_SHAPES)
        colour = (shape + index // len(PART_SHAPES)) % len(colours)
        parts.append((PART_SHAPES[shape], colours[colour]))
    return parts


def scene_parts(num_classes):
    """(shape, colour) of each class; neighbouring classes differ in shape."""
    return [
        (
            SCENE_SHAPES[index % len(SCENE_SHAPES)],
            SCENE_COLOURS[index // len(SCENE_SHAPES)],
        )
        for index in range(num_classes)
    ]


def class_names(num_classes, preset="easy"):
    """Names such as `"red_circle"` (hard: `"redcyan_checks"`), one per class."""
    return [f"{colour}_{shape}" for shape, colour in class_parts(num_classes, preset)]


def _rotate(points, angle, centre):
    cos, sin = math.cos(angle), math.sin(angle)
    cx, cy = centre
    return [(cx + x * cos - y * sin, cy + x * sin + y * cos) for x, y in points]


def _shape_polygons(shape, radius):
    """Polygons (lists of (x, y) around the origin) drawing one part shape."""
    r = radius
    if shape == "circle":
        return [[(r * math.cos(t), r * math.sin(t)) for t in _angles(24)]]
    if shape == "square":
        s = r * 0.85
        return [[(-s, -s), (s, -s), (s, s), (-s, s)]]
    if shape == "triangle":
        return [[(r * math.cos(t), r * math.sin(t)) for t in _angles(3, -math.pi / 2)]]
    if shape == "ring":
        return [[(r * math.cos(t), r * math.sin(t)) for t in _angles(24)]]
    if shape == "cross":
        w = r * 0.38
        return [
            [(-r, -w), (r, -w), (r, w), (-r, w)],
            [(-w, -r), (w, -r), (w, r), (-w, r)],
        ]
    # A five-pointed star.
    points = []
    for index, t in enumerate(_angles(10, -math.pi / 2)):
        radius_here = r if index % 2 == 0 else r * 0.45
        points.append((radius_here * math.cos(t), radius_here * math.sin(t)))
    return [points]


def _angles(count, start=0.0):
    return [start + 2 * math.pi * i / count for i in range(count)]


def _random_body_colour(rng):
    # Muted colours, so the saturated part colours stand out from the body.
    hue = rng.uniform(0, 1)
    saturation = rng.uniform(0.15, 0.55)
    value = rng.uniform(0.35, 0.8)
    i = int(hue * 6) % 6
    f = hue * 6 - int(hue * 6)
    p, q, t = (
        value * (1 - saturation),
        value * (1 - f * saturation),
        value * (1 - (1 - f) * saturation),
    )
    rgb = [(value, t, p), (q, value, p), (p, value, t), (p, q, value), (t, p, value)]
    rgb.append((value, p, q))
    return tuple(int(255 * c) for c in rgb[i])


def _background(rng, size):
    base = rng.uniform(60, 200, size=3)
    gradient = np.linspace(-1, 1, size)
    direction = rng.uniform(-40, 40, size=(2, 3))
    image = (
        base
        + gradient[:, None, None] * direction[0]
        + gradient[None, :, None] * direction[1]
        + rng.normal(0, 12, size=(size, size, 3))
    )
    canvas = Image.fromarray(np.clip(image, 0, 255).astype("uint8"))
    draw = ImageDraw.Draw(canvas)
    # Clutter: large soft blotches and thin strokes, none shaped like a part.
    for _ in range(int(rng.integers(3, 7))):
        cx, cy = rng.uniform(0, size, 2)
        rx, ry = rng.uniform(0.08, 0.25, 2) * size
        colour = tuple(int(c) for c in rng.uniform(40, 220, 3))
        draw.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=colour)
    for _ in range(int(rng.integers(6, 14))):
        x1, y1, x2, y2 = rng.uniform(0, size, 4)
        colour = tuple(int(c) for c in rng.uniform(0, 255, 3))
        draw.line([x1, y1, x2, y2], fill=colour, width=max(1, size // 64))
    return canvas


def _draw_body(rng, size, draw):
    """An elongated body of random pose; returns (colour, centre, angle,
    half-length)."""
    length = rng.uniform(*BODY_LENGTH) * size
    half_long, half_short = length / 2, length * 0.22
    angle = rng.uniform(0, 2 * math.pi)
    margin = half_long + 1
    centre = tuple(rng.uniform(margin, size - margin, 2))
    body = [(half_long * math.cos(t), half_short * math.sin(t)) for t in _angles(40)]
    tail = [
        (-half_long * 0.8, 0),
        (-half_long * 1.15, -half_short),
        (-half_long * 1.15, half_short),
    ]
    body_colour = _random_body_colour(rng)
    draw.polygon(_rotate(tail, angle, centre), fill=body_colour)
    draw.polygon(_rotate(body, angle, centre), fill=body_colour, outline=(20, 20, 20))
    return body_colour, centre, angle, half_long


def _draw_example(rng, size, shape, colour):
    canvas = _background(rng, size)
    draw = ImageDraw.Draw(canvas)
    body_colour, centre, angle, half_long = _draw_body(rng, size, draw)

    radius = PART_RADIUS * size * rng.uniform(0.9, 1.1)
    # The part sits at the head end of the long axis: where depends on pose.
    head = _rotate([(half_long - radius * 1.2, 0.0)], angle, centre)[0]
    fill = PART_COLOURS[colour]
    part_angle = angle + rng.uniform(-0.3, 0.3)
    for polygon in _shape_polygons(shape, radius):
        draw.polygon(
            _rotate(polygon, part_angle, head), fill=fill, outline=(15, 15, 15)
        )
    if shape == "ring":
        hole = [
            (0.5 * radius * math.cos(t), 0.5 * radius * math.sin(t))
            for t in _angles(24)
        ]
        draw.polygon(_rotate(hole, 0.0, head), fill=body_colour)

    x, y = head
    box = np.array([y - radius, x - radius, y + radius, x + radius]) / size
    return np.asarray(canvas, dtype="uint8"), np.clip(box, 0.0, 1.0).astype("float32")


def _even(value):
    return max(2, 2 * round(value / 2))


def _draw_hard_example(rng, size, texture, pair):
    canvas = _background(rng, size)
    draw = ImageDraw.Draw(canvas)
    _, centre, angle, half_long = _draw_body(rng, size, draw)

    side, frame = _even(HARD_TEXTURE_SIDE * size), _even(HARD_FRAME * size)
    outer = side + 2 * frame
    # Either end of the body, so that its shape does not tell where.
    end = half_long - outer * 0.4
    end = end if rng.uniform() < 0.5 else -end
    x, y = _rotate([(end, 0.0)], angle, centre)[0]
    # Top-left corner of the texture on even pixels, the mark inside the image.
    left = int(np.clip(2 * round((x - side / 2) / 2), frame, size - side - frame))
    top = int(np.clip(2 * round((y - side / 2) / 2), frame, size - side - frame))
    left, top = left - left % 2, top - top % 2
    image = np.asarray(canvas, dtype="uint8").copy()
    image[top - frame : top + side + frame, left - frame : left + side + frame] = 0
    rows, columns = np.mgrid[0:side, 0:side]
    if texture == "rows":
        first = rows % 2 == 0
    elif texture == "columns":
        first = columns % 2 == 0
    else:
        first = (rows + columns) % 2 == 0
    colours = np.asarray(HARD_COLOUR_PAIRS[pair], dtype="uint8")
    image[top : top + side, left : left + side] = np.where(
        first[..., None], colours[0], colours[1]
    )
    box = np.array([top - frame, left - frame, top + side + frame, left + side + frame])
    return image, (box / size).astype("float32")


@functools.lru_cache(maxsize=8)
def _generate_cached(
    split, num_classes, image_size, examples_per_class, seed, preset="easy"
):
    parts = class_parts(num_classes, preset)
    if preset in SCENE_PRESETS:
        # Imported here: part_scenes draws with this module's helpers.
        from keras_rra.data.part_scenes import draw_scene_example

        def draw_example(rng, size, shape, colour):
            return draw_scene_example(rng, size, shape, colour, preset)
    else:
        draw_example = _draw_hard_example if preset == "hard" else _draw_example
    # The easy preset keeps its original streams (and so its images).
    # `faint` keeps the stream, and so the images, that `distractors` drew
    # before 2026-12-07.
    extra = {"easy": [], "hard": [7], "plain": [11], "distractors": [17], "faint": [13]}
    extra = extra[preset]
    stream = [seed, SPLITS.index(split)] + extra
    rng = np.random.default_rng(stream)
    labels = np.repeat(np.arange(num_classes, dtype="int32"), examples_per_class)
    labels = labels[rng.permutation(len(labels))]
    images = np.empty((len(labels), image_size, image_size, 3), dtype="uint8")
    boxes = np.empty((len(labels), 4), dtype="float32")
    for index, label in enumerate(labels):
        images[index], boxes[index] = draw_example(rng, image_size, *parts[label])
    for array in (images, labels, boxes):
        array.setflags(write=False)
    return images, labels, boxes


def generate(
    split="train",
    num_classes=10,
    image_size=64,
    examples_per_class=100,
    test_examples_per_class=None,
    seed=0,
    preset="easy",
):
    """Generates one split of the synthetic dataset as NumPy arrays.

    The `easy` preset: the part is a small coloured shape (one of 6 shapes
    in one of 6 colours) at the head end of the body, readable at any size
    from 32 pixels.

    The `hard` preset is made for a global view at half the side of the
    image (e.g. 128-pixel images, a 64-pixel global view): the part is a
    black-framed square (about 9% of the side) at either end of the body,
    filled with a texture of period 2 pixels (rows, columns or a
    checkerboard) in one of 4 colour pairs (12 classes at most). Every class
    has the same mean colour and the texture sits on even pixels, so the
    half-size view shows the same grey square for every class: only a
    model that looks at the part at full resolution can read it, and the
    square tells where it is but not what it is.

    Args:
        split: `"train"` or `"test"`; the two are drawn from independent
            random streams of the same seed, so they never share an image.
        num_classes: 2 to 36 (easy) or 2 to 12 (hard).
        image_size: side of the square images, >= 32 (>= 64 for `hard`).
        examples_per_class: images per class in the train split.
        test_examples_per_class: images per class in the test split
            (default: a quarter of `examples_per_class`, at least 1).
        seed: the same seed always gives the same images, labels and order.
        preset: `"easy"` or `"hard"`.

    Returns:
        A dict with `images` (N, size, size, 3) uint8, `labels` (N,) int32,
        `part_boxes` (N, 4) float32 normalised (y1, x1, y2, x2) boxes of the
        class-deciding part, and `class_names`. The arrays are read-only
        (they are cached and shared).
    """
    if split not in SPLITS:
        raise ValueError(
            f"The synthetic dataset has splits {SPLITS}; received split={split!r}."
        )
    check_preset(preset)
    smallest = 32 if preset == "easy" else 64
    if image_size < smallest:
        raise ValueError(
            f"Synthetic images ({preset} preset) must be at least {smallest} "
            f"pixels wide for the part to be visible; received "
            f"image_size={image_size}."
        )
    if examples_per_class < 1:
        raise ValueError(
            f"`examples_per_class` must be >= 1; received {examples_per_class}."
        )
    if split == "test":
        count = test_examples_per_class or max(1, examples_per_class // 4)
    else:
        count = examples_per_class
    images, labels, boxes = _generate_cached(
        split, int(num_classes), int(image_size), int(count), int(seed), preset
    )
    return {
        "images": images,
        "labels": labels,
        "part_boxes": boxes,
        "class_names": class_names(num_classes, preset),
    }


def candidate_boxes(part_boxes, num_boxes=1, context=2.0, jitter=0.25, seed=0):
    """K candidate patch boxes per image around the true part.

    The first candidate is the part's box grown by `context` about its
    centre; the others are shifted by up to `jitter` of its size and scaled
    by 0.8–1.25. Using them is box supervision, which RRA's paper does not
    use; it is here to exercise `patch="boxes"` and to give an upper bound.

    Returns:
        `(N, num_boxes, 4)` float32 boxes inside [0, 1].
    """
    rng = np.random.default_rng([seed, 2])
    part_boxes = np.asarray(part_boxes, dtype="float32")
    centre = (part_boxes[:, :2] + part_boxes[:, 2:]) / 2
    half = (part_boxes[:, 2:] - part_boxes[:, :2]) / 2 * context
    boxes = np.empty((len(part_boxes), num_boxes, 4), dtype="float32")
    for k in range(num_boxes):
        if k == 0:
            c, h = centre, half
        else:
            c = centre + rng.uniform(-jitter, jitter, centre.shape) * 2 * half
            h = half * rng.uniform(0.8, 1.25, (len(half), 1))
        h = np.minimum(h, 0.5)
        c = np.clip(c, h, 1 - h)
        boxes[:, k, :2] = c - h
        boxes[:, k, 2:] = c + h
    return np.clip(boxes, 0.0, 1.0)


def write_image_folder(
    root,
    num_classes=10,
    image_size=64,
    examples_per_class=100,
    test_examples_per_class=None,
    seed=0,
    image_format="jpg",
    quality=90,
):
    """Writes the synthetic dataset as an image folder, `folder:` layout.

    `root/<split>/<class>/<index>.<format>` for the `train` and `test`
    splits, and `root/part_boxes.csv`: each image's true part box in the
    boxes-file format (key, y1, x1, y2, x2), for `boxes=...`. Used by the
    tests and by `keras-rra benchmark data` to measure a real decode path.

    Returns:
        `root`.
    """
    if image_format not in ("jpg", "png"):
        raise ValueError(
            f"image_format must be 'jpg' or 'png'; received {image_format!r}."
        )
    rows = []
    for split in SPLITS:
        data = generate(
            split,
            num_classes,
            image_size,
            examples_per_class,
            test_examples_per_class,
            seed,
        )
        for name in data["class_names"]:
            os.makedirs(os.path.join(root, split, name), exist_ok=True)
        for index, (image, label, box) in enumerate(
            zip(data["images"], data["labels"], data["part_boxes"], strict=True)
        ):
            key = f"{split}/{data['class_names'][label]}/{index:05d}.{image_format}"
            options = {"quality": quality} if image_format == "jpg" else {}
            Image.fromarray(image).save(os.path.join(root, *key.split("/")), **options)
            rows.append(",".join([key, *(f"{value:.6f}" for value in box)]))
    with open(os.path.join(root, "part_boxes.csv"), "w", encoding="utf-8") as file:
        file.write("image,y1,x1,y2,x2\n" + "\n".join(rows) + "\n")
    return root
