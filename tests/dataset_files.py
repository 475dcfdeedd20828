"""Tiny datasets on disk, in the exact layouts of the originals.

Every image of class `c` is filled with `CLASS_COLOURS[c]`, so a test can
tell from the pixels which label an image got.
"""

import os

import numpy as np
from PIL import Image

CLASS_COLOURS = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (200, 200, 30)]


def solid_image(path, colour, size=(40, 50), image_format=None, mode="RGB"):
    """Writes a `size` (height, width) image of one colour."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    height, width = size
    image = Image.new("RGB", (width, height), colour)
    if mode != "RGB":
        image = image.convert(mode)
    image.save(path, format=image_format)
    return path


def colour_of(image):
    """The index of the class colour nearest to an image's mean colour."""
    mean = np.asarray(image, "float32").reshape(-1, 3).mean(axis=0)
    distances = [np.abs(mean - np.asarray(c)).sum() for c in CLASS_COLOURS]
    return int(np.argmin(distances))


def write_cub(root, images_per_class=(3, 2, 2), size=(40, 60)):
    """A `CUB_200_2011` folder with its five label files.

    The first image of each class is a test image; the box of image i is
    (x=10, y=5, w=20, h=10) pixels.
    """
    folder = os.path.join(root, "CUB_200_2011")
    classes, images, labels, split, boxes = [], [], [], [], []
    image_id = 0
    for class_index, count in enumerate(images_per_class):
        class_name = f"{class_index + 1:03d}.Bird_{class_index}"
        classes.append(f"{class_index + 1} {class_name}")
        for number in range(count):
            image_id += 1
            relative = f"{class_name}/Bird_{class_index}_{number:04d}.jpg"
            solid_image(
                os.path.join(folder, "images", relative),
                CLASS_COLOURS[class_index],
                size,
            )
            images.append(f"{image_id} {relative}")
            labels.append(f"{image_id} {class_index + 1}")
            split.append(f"{image_id} {0 if number == 0 else 1}")
            boxes.append(f"{image_id} 10.0 5.0 20.0 10.0")
    for name, lines in (
        ("classes.txt", classes),
        ("images.txt", images),
        ("image_class_labels.txt", labels),
        ("train_test_split.txt", split),
        ("bounding_boxes.txt", boxes),
    ):
        with open(os.path.join(folder, name), "w", encoding="utf-8") as file:
            file.write("\n".join(lines) + "\n")
    return folder


AIRCRAFT_VARIANTS = ["707-320", "A300B4", "Cessna 172", "F-16A/B"]
AIRCRAFT_FAMILIES = ["Boeing 707", "A300", "Cessna 172", "F-16"]
AIRCRAFT_MANUFACTURERS = ["Boeing", "Airbus", "Cessna", "Lockheed Martin"]
BANNER_COLOUR = (255, 255, 255)


def write_aircraft(root, size=(60, 50)):
    """An `fgvc-aircraft-2013b/data` folder: 2 images per variant and split.

    Each image is its class colour with a white 20-pixel banner at the
    bottom; its box is (xmin=6, ymin=11, xmax=25, ymax=30), 1-based.
    """
    folder = os.path.join(root, "fgvc-aircraft-2013b", "data")
    os.makedirs(os.path.join(folder, "images"))
    for name, values in (
        ("variants.txt", AIRCRAFT_VARIANTS),
        ("families.txt", AIRCRAFT_FAMILIES),
        ("manufacturers.txt", AIRCRAFT_MANUFACTURERS),
    ):
        with open(os.path.join(folder, name), "w", encoding="utf-8") as file:
            file.write("\n".join(values) + "\n")
    boxes, image = [], 1000000
    height, width = size
    for split in ("train", "val", "test"):
        rows = {"variant": [], "family": [], "manufacturer": []}
        for index, variant in enumerate(AIRCRAFT_VARIANTS):
            for _ in range(2):
                image += 1
                pixels = np.zeros((height, width, 3), "uint8")
                pixels[:] = CLASS_COLOURS[index]
                pixels[-20:] = BANNER_COLOUR
                Image.fromarray(pixels).save(
                    os.path.join(folder, "images", f"{image}.jpg")
                )
                rows["variant"].append(f"{image} {variant}")
                rows["family"].append(f"{image} {AIRCRAFT_FAMILIES[index]}")
                rows["manufacturer"].append(f"{image} {AIRCRAFT_MANUFACTURERS[index]}")
                boxes.append(f"{image} 6 11 25 30")
        for level, lines in rows.items():
            path = os.path.join(folder, f"images_{level}_{split}.txt")
            with open(path, "w", encoding="utf-8") as file:
                file.write("\n".join(lines) + "\n")
    for level in ("variant", "family", "manufacturer"):
        lines = []
        for split in ("train", "val"):
            with open(os.path.join(folder, f"images_{level}_{split}.txt")) as file:
                lines.extend(line.strip() for line in file if line.strip())
        with open(os.path.join(folder, f"images_{level}_trainval.txt"), "w") as file:
            file.write("\n".join(lines) + "\n")
    with open(os.path.join(folder, "images_box.txt"), "w", encoding="utf-8") as file:
        file.write("\n".join(boxes) + "\n")
    return os.path.dirname(folder)


def write_split_folder(root, splits=("train", "test"), per_class=2, classes=3):
    """`root/<split>/<class_c>/<i>.jpg|png`, alternating JPEG and PNG."""
    for split in splits:
        for c in range(classes):
            for i in range(per_class):
                extension = "jpg" if i % 2 == 0 else "png"
                solid_image(
                    os.path.join(root, split, f"class_{c}", f"{i}.{extension}"),
                    CLASS_COLOURS[c],
                )
    return root
