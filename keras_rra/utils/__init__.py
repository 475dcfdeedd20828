"""Small helpers shared by every part of the package (no Keras models here)."""
