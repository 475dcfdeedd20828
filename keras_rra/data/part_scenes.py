"""Part tasks without a beacon: the synthetic presets `plain`, `distractors`
and `faint`.

`synthetic:hard` frames its part in black, so a low-resolution view sees
where the part is before it knows what it is. These presets do not: the
part is visible only as itself, as on task a of `../shared/part_tasks` and
on real birds. Each image shows the textured, cluttered background and the
randomly posed body of the `easy` preset; the class is decided only by a
small mark (shape × colour) at the head end of the body.

- `plain`: the mark's size varies 2× from image to image (radius 3.5-7% of
  the side before its outline), drawn without the dark outline the easy
  preset gives it.
- `distractors`: four marks of the classes' own shapes and colours drawn
  on the background away from the body: only the one on the body's head
  decides the class. The marks are small (radius 3-4% of the side) and
  filled, at full contrast. Made for a 192-px source.
- `faint`: the `distractors` scene with thin (outline-only), low-contrast
  marks (60% of the way from the body's colour to the class colour),
  radius 4-5%. Every image-level row, the full-resolution baseline
  included, stays at chance on it in 10 epochs; only the true part box
  learns it.
"""

import math

import numpy as np
from PIL import ImageDraw

from keras_rra.data.synthetic import PART_COLOURS
from keras_rra.data.synthetic import SCENE_COLOURS
from keras_rra.data.synthetic import SCENE_SHAPES
from keras_rra.data.synthetic import _background
from keras_rra.data.synthetic import _draw_body
from keras_rra.data.synthetic import _rotate
from keras_rra.data.synthetic import _shape_polygons

# preset -> (radius range relative to the side, thin, contrast, distractors).
SCENES = {
    "plain": ((0.035, 0.07), False, 1.0, 0),
    "distractors": ((0.03, 0.04), False, 1.0, 4),
    "faint": ((0.04, 0.05), True, 0.6, 4),
}


def _mark(draw, shape, centre, radius, angle, fill, body_colour, thin, width):
    for polygon in _shape_polygons(shape, radius):
        points = _rotate(polygon, angle, centre)
        if thin:
            draw.polygon(points, outline=fill, width=width)
        else:
            draw.polygon(points, fill=fill)
    if shape == "ring" and not thin:
        hole = _shape_polygons("circle", 0.5 * radius)[0]
        draw.polygon(_rotate(hole, 0.0, centre), fill=body_colour)


def draw_scene_example(rng, size, shape, colour, preset):
    """One image `(size, size, 3)` uint8 of a scene preset and the part's
    normalised `(y1, x1, y2, x2)` box."""
    radii, thin, contrast, distractors = SCENES[preset]
    canvas = _background(rng, size)
    draw = ImageDraw.Draw(canvas)
    body_colour, centre, angle, half_long = _draw_body(rng, size, draw)
    width = max(1, round(size / 96))

    def tint(name, behind):
        target = np.asarray(PART_COLOURS[name], "float32")
        mixed = np.asarray(behind, "float32") * (1 - contrast) + target * contrast
        return tuple(int(round(value)) for value in mixed)

    radius = rng.uniform(*radii) * size
    head = _rotate([(half_long - radius * 1.2, 0.0)], angle, centre)[0]
    part_angle = angle + rng.uniform(-0.3, 0.3)
    _mark(
        draw,
        shape,
        head,
        radius,
        part_angle,
        tint(colour, body_colour),
        body_colour,
        thin,
        width,
    )
    image = np.asarray(canvas, dtype="uint8")
    for _ in range(distractors):
        # Away from the body: further from its centre than its head.
        for _attempt in range(50):
            where = rng.uniform(radius + 1, size - radius - 1, 2)
            if math.dist(where, centre) > half_long * 1.3 + radius:
                break
        behind = image[int(where[1]), int(where[0])]
        _mark(
            draw,
            SCENE_SHAPES[int(rng.integers(len(SCENE_SHAPES)))],
            tuple(where),
            rng.uniform(*radii) * size,
            rng.uniform(0, 2 * math.pi),
            tint(SCENE_COLOURS[int(rng.integers(len(SCENE_COLOURS)))], behind),
            tuple(int(value) for value in behind),
            thin,
            width,
        )
    x, y = head
    box = np.array([y - radius, x - radius, y + radius, x + radius]) / size
    return np.asarray(canvas, dtype="uint8"), np.clip(box, 0.0, 1.0).astype("float32")
