import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1337)
    yield
    # Without the garbage collection that `clear_session` runs by default:
    # it took up to 1.6 s after every test, most of them pure Python, and
    # Python's own collector still runs as memory grows.
    keras.backend.clear_session(free_memory=False)
