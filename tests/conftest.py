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
    """Every worker's share starts with its third of the tests marked
    `slow`. `--dist worksteal` gives each worker a contiguous share of the
    collected order (and lets a free worker take the end of another's):
    sorting the slow tests first put them all in one share, where the
    documentation and notebook runs waited for each other (measured: one
    worker ran all 16 documents in turn, and the suite took over 25
    minutes)."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    slow = [item for item in items if item.get_closest_marker("slow")]
    fast = [item for item in items if not item.get_closest_marker("slow")]
    shares = [[] for _ in range(workers)]
    for index, item in enumerate(slow):
        shares[index % workers].append(item)
    # Fill the shares to equal lengths, in the order worksteal cuts them.
    size = -(-len(items) // workers)
    for share in shares:
        while len(share) < size and fast:
            share.append(fast.pop(0))
    items[:] = [item for share in shares for item in share] + fast
