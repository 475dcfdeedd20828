import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # Several test processes share the cores: one thread each for an op's
    # own parallelism avoids oversubscribing them (measured 142 s against
    # 155 s for the model and export tests with three workers on two cores).
    # Child processes inherit it. Inter-op threads stay: replicas of a
    # MirroredStrategy run concurrently.
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")

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


def pytest_collection_modifyitems(items):
    """Tests marked `slow` first. `--dist worksteal` gives each worker a
    contiguous share and lets a free worker take half of another's pending
    tests, so the long tests start early instead of last."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
