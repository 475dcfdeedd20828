"""tf.distribute strategies by name, with checks that fail in a bounded time.

`auto` picks what the machine has: the workers of `TF_CONFIG`, else all
GPUs, else one device. `multiworker` reads `TF_CONFIG`, which is checked
before TensorFlow sees it: a malformed one is one sentence, and a cluster
that does not form within `connect_timeout` seconds stops the process with
the addresses that did not answer, where TensorFlow would wait forever.
"""

import json
import os
import socket
import subprocess
import sys

import tensorflow as tf

from keras_rra.settings.training_settings import JIT_MODES
from keras_rra.settings.training_settings import STRATEGIES

DEFAULT_CONNECT_TIMEOUT = 120.0


def parse_tf_config(text=None):
    """The cluster of `TF_CONFIG`: `(workers, task_type, task_index)`.

    `workers` lists the "host:port" addresses of the chief (first, if any)
    and the workers. Raises ValueError naming what is wrong.
    """
    text = os.environ.get("TF_CONFIG", "") if text is None else text
    if not text.strip():
        raise ValueError(
            "strategy 'multiworker' needs the TF_CONFIG environment variable "
            '(JSON: {"cluster": {"worker": ["host:port", ...]}, "task": '
            '{"type": "worker", "index": 0}}); it is not set.'
        )
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG is not valid JSON: {error}.") from None
    if not isinstance(config, dict):
        raise ValueError(f"TF_CONFIG must be a JSON object; received {text!r}.")
    cluster, task = config.get("cluster"), config.get("task")
    if not isinstance(cluster, dict) or not cluster:
        raise ValueError(
            f"TF_CONFIG has no 'cluster' mapping of job names to addresses: {text!r}."
        )
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise ValueError(
            f"TF_CONFIG has no 'task' with a 'type' and an 'index': {text!r}."
        )
    workers = []
    for job in ("chief", "worker"):
        addresses = cluster.get(job, [])
        if not isinstance(addresses, list):
            raise ValueError(
                f"TF_CONFIG cluster[{job!r}] must be a list of 'host:port'; "
                f"received {addresses!r}."
            )
        for address in addresses:
            _split_address(address)
        workers.extend(addresses)
    if not workers:
        raise ValueError(f"TF_CONFIG names no 'chief' or 'worker' job: {text!r}.")
    task_type, task_index = task["type"], task["index"]
    jobs = cluster.get(task_type)
    if not isinstance(jobs, list):
        raise ValueError(
            f"TF_CONFIG task type {task_type!r} is not a job of the cluster "
            f"({', '.join(sorted(cluster))})."
        )
    if isinstance(task_index, bool) or not isinstance(task_index, int):
        raise ValueError(
            f"TF_CONFIG task index must be an integer; got {task_index!r}."
        )
    if not 0 <= task_index < len(jobs):
        raise ValueError(
            f"TF_CONFIG task index {task_index} is out of range: job {task_type!r} "
            f"has {len(jobs)} address(es)."
        )
    return workers, task_type, task_index


def _split_address(address):
    host, _, port = str(address).rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(
            f"TF_CONFIG address {address!r} is not 'host:port' with a port in 1-65535."
        )
    try:
        socket.getaddrinfo(host.strip("[]"), int(port))
    except socket.gaierror as error:
        raise ValueError(
            f"TF_CONFIG address {address!r}: host {host!r} cannot be resolved "
            f"({error.strerror})."
        ) from None
    return host.strip("[]"), int(port)


# Run in a child process: TensorFlow's MultiWorkerMirroredStrategy blocks in
# C++ while holding the GIL until every worker has joined, so no thread of
# the waiting process could ever report the problem.
_WATCHDOG = r"""
import os, select, signal, socket, sys
parent, timeout, addresses = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
ready, _, _ = select.select([sys.stdin], [], [], timeout)
if ready:
    sys.exit(0)  # the cluster formed (or the parent ended): nothing to do
silent = []
for address in addresses:
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=2).close()
    except OSError as error:
        silent.append(f"{address} ({error.strerror or error})")
nobody = "none (every port answers: a worker may be stuck or run something else)"
sys.stderr.write(
    "keras-rra: error: the MultiWorkerMirroredStrategy cluster did not form "
    f"within {timeout:g} s; no answer from: {', '.join(silent) or nobody}. "
    "Stopping this worker.\n"
)
sys.stderr.flush()
os.kill(parent, signal.SIGKILL)
"""


def _multiworker_strategy(connect_timeout):
    workers, _, _ = parse_tf_config()
    watchdog = subprocess.Popen(
        [sys.executable, "-c", _WATCHDOG, str(os.getpid()), str(connect_timeout)]
        + [str(address) for address in workers],
        stdin=subprocess.PIPE,
    )
    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    finally:
        watchdog.stdin.close()
        watchdog.wait()
    return strategy


def _tpu_strategy():
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as error:
        raise ValueError(
            f"strategy 'tpu': no TPU found on this machine ({error})."
        ) from None
    return tf.distribute.TPUStrategy(resolver)


def _has_tf_config_cluster():
    text = os.environ.get("TF_CONFIG", "")
    if not text.strip():
        return False
    workers, _, _ = parse_tf_config(text)
    return len(workers) > 1


def resolve_strategy(strategy="auto", connect_timeout=DEFAULT_CONNECT_TIMEOUT):
    """A `tf.distribute.Strategy` from a name, or `strategy` itself.

    Args:
        strategy: a `tf.distribute.Strategy`, or one of `"auto"` (the
            workers of `TF_CONFIG` if it names several, else every GPU if
            there are several, else the default strategy), `"default"` (one
            device), `"mirrored"` (every local GPU, or the CPU),
            `"multiworker"` (`MultiWorkerMirroredStrategy` from `TF_CONFIG`),
            `"tpu"`.
        connect_timeout: seconds a multi-worker cluster may take to form.

    Returns:
        The strategy. Raises ValueError for an unknown name, a malformed
        `TF_CONFIG` or a missing TPU.
    """
    if isinstance(strategy, tf.distribute.Strategy):
        return strategy
    if strategy not in STRATEGIES:
        raise ValueError(
            f"Unknown strategy {strategy!r}. Expected one of: {', '.join(STRATEGIES)}, "
            "or a tf.distribute.Strategy."
        )
    if strategy == "auto":
        if _has_tf_config_cluster():
            strategy = "multiworker"
        elif len(tf.config.list_logical_devices("GPU")) > 1:
            strategy = "mirrored"
        else:
            strategy = "default"
    if strategy == "default":
        return tf.distribute.get_strategy()
    if strategy == "mirrored":
        return tf.distribute.MirroredStrategy()
    if strategy == "multiworker":
        return _multiworker_strategy(connect_timeout)
    return _tpu_strategy()


def check_batch_size(strategy, batch_size):
    """Raises ValueError unless `batch_size` splits evenly over the replicas."""
    replicas = strategy.num_replicas_in_sync
    if batch_size % replicas:
        raise ValueError(
            f"batch_size={batch_size} does not split evenly over the {replicas} "
            f"replicas of {type(strategy).__name__}; use a multiple of {replicas} "
            f"(for example {replicas * max(1, batch_size // replicas)})."
        )


def on_accelerator():
    """Whether TensorFlow sees a GPU or a TPU."""
    return bool(
        tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("TPU")
    )


def resolve_jit_compile(jit_compile, strategy):
    """`True` or `False` from `"auto"`, `"on"`, `"off"` (or a bool).

    `auto` is XLA on accelerators and off on CPUs, where it was slower here.
    XLA under a strategy with several CPU replicas fails in TF 2.21, so that
    combination is refused up front.
    """
    if isinstance(jit_compile, bool):
        jit_compile = "on" if jit_compile else "off"
    if jit_compile not in JIT_MODES:
        raise ValueError(
            f"Unknown jit_compile {jit_compile!r}. Expected one of: "
            f"{', '.join(JIT_MODES)}."
        )
    if jit_compile == "auto":
        return on_accelerator()
    enabled = jit_compile == "on"
    if enabled and not on_accelerator() and strategy.num_replicas_in_sync > 1:
        raise ValueError(
            "jit_compile='on' with several CPU replicas fails in TensorFlow 2.21 "
            "(a variable lands on another device); use jit_compile='off' or one "
            "device."
        )
    return enabled
