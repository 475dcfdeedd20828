import json
import os
import sys
import time
import types

import numpy as np
import pytest
import tensorflow as tf

from keras_rra.training.strategy import check_batch_size
from keras_rra.training.strategy import parse_tf_config
from keras_rra.training.strategy import resolve_jit_compile
from keras_rra.training.strategy import resolve_strategy
from tests.helpers import free_ports
from tests.helpers import run_processes

WORKER = os.path.join(os.path.dirname(__file__), "scripts", "distributed_worker.py")


def _tf_config(addresses, index):
    return json.dumps(
        {"cluster": {"worker": addresses}, "task": {"type": "worker", "index": index}}
    )


def test_unknown_strategy_is_named():
    with pytest.raises(ValueError, match="Unknown strategy 'gpu'.*mirrored"):
        resolve_strategy("gpu")


def test_default_and_auto_on_this_machine():
    assert resolve_strategy("default").num_replicas_in_sync == 1
    assert resolve_strategy("auto").num_replicas_in_sync == 1


def test_a_strategy_object_is_used_as_it_is():
    strategy = tf.distribute.get_strategy()
    assert resolve_strategy(strategy) is strategy


def test_tpu_without_a_tpu_is_one_sentence():
    with pytest.raises(ValueError, match="no TPU found"):
        resolve_strategy("tpu")


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "TF_CONFIG environment variable"),
        ("{not json", "not valid JSON"),
        ('["a"]', "must be a JSON object"),
        ('{"task": {"type": "worker", "index": 0}}', "no 'cluster'"),
        ('{"cluster": {"worker": ["127.0.0.1:1"]}}', "no 'task'"),
        (
            '{"cluster": {"worker": ["127.0.0.1"]}, "task": {"type": "worker", '
            '"index": 0}}',
            "'127.0.0.1' is not 'host:port'",
        ),
        (
            '{"cluster": {"worker": ["127.0.0.1:70000"]}, "task": {"type": '
            '"worker", "index": 0}}',
            "port in 1-65535",
        ),
        (
            '{"cluster": {"worker": ["no-such-host.invalid:2222"]}, "task": '
            '{"type": "worker", "index": 0}}',
            "cannot be resolved",
        ),
        (
            '{"cluster": {"worker": ["127.0.0.1:2222"]}, "task": {"type": '
            '"worker", "index": 3}}',
            "index 3 is out of range",
        ),
        (
            '{"cluster": {"worker": ["127.0.0.1:2222"]}, "task": {"type": "ps", '
            '"index": 0}}',
            "'ps' is not a job",
        ),
    ],
)
def test_malformed_tf_config(text, message):
    with pytest.raises(ValueError, match=message):
        parse_tf_config(text)


def test_tf_config_lists_chief_first():
    text = json.dumps(
        {
            "cluster": {"chief": ["127.0.0.1:1000"], "worker": ["127.0.0.1:1001"]},
            "task": {"type": "worker", "index": 0},
        }
    )
    assert parse_tf_config(text) == (["127.0.0.1:1000", "127.0.0.1:1001"], "worker", 0)


def test_batch_size_must_split_over_the_replicas():
    two = types.SimpleNamespace(num_replicas_in_sync=2)
    check_batch_size(two, 32)
    with pytest.raises(ValueError, match="batch_size=33 .* 2 replicas.*multiple of 2"):
        check_batch_size(two, 33)


def test_jit_modes():
    one = types.SimpleNamespace(num_replicas_in_sync=1)
    assert resolve_jit_compile("auto", one) is False  # CPU only here
    assert resolve_jit_compile("on", one) is True
    assert resolve_jit_compile(False, one) is False
    with pytest.raises(ValueError, match="Unknown jit_compile 'yes'"):
        resolve_jit_compile("yes", one)
    with pytest.raises(ValueError, match="several CPU replicas"):
        resolve_jit_compile("on", types.SimpleNamespace(num_replicas_in_sync=2))


@pytest.mark.slow
def test_two_workers_train_in_sync(tmp_path):
    """Two processes on 127.0.0.1 with MultiWorkerMirroredStrategy."""
    addresses = [f"127.0.0.1:{port}" for port in free_ports(2)]
    commands = []
    for index in range(2):
        env = dict(os.environ, TF_CONFIG=_tf_config(addresses, index))
        argv = [sys.executable, WORKER, "multiworker", str(tmp_path / f"{index}.npz")]
        commands.append((argv, env))
    codes, outputs = run_processes(commands, timeout=240)
    assert codes == [0, 0], [err[-2000:] for _, err in outputs]
    first, second = (np.load(tmp_path / f"{index}.npz") for index in range(2))
    assert int(first["replicas"]) == 2
    np.testing.assert_array_equal(first["weights"], second["weights"])
    np.testing.assert_array_equal(first["losses"], second["losses"])
    assert first["losses"][-1] < first["losses"][0]


@pytest.mark.slow
def test_mirrored_two_devices_equal_one_device(tmp_path):
    # One process for both models: one TensorFlow start-up. RRA with its
    # navigator (the default) covers the centred patch's streams too; the
    # multi-worker tests train the centred patch.
    models = ["coarse2fine", "navigator"]
    output = str(tmp_path / "mirrored-{model}.npz")
    codes, outputs = run_processes(
        [
            (
                [sys.executable, WORKER, "mirrored", output, ",".join(models)],
                dict(os.environ),
            )
        ],
        timeout=400,
    )
    assert codes == [0], outputs[0][1][-2000:]
    for model in models:
        result = np.load(output.replace("{model}", model))
        assert int(result["replicas"]) == 2
        # Two replicas sum each half batch before the all-reduce, one device
        # the whole: float rounding that grows over the steps (measured up to
        # 1.9e-4 on the loss under load; a replica-local batch norm differs by
        # more than 1e-2). A flipped box choice (below) moves the loss more.
        rtol = 1e-2 if model == "navigator" else 1e-3
        np.testing.assert_allclose(
            result["mirrored_losses"], result["single_losses"], rtol=rtol, err_msg=model
        )
        if model == "navigator":
            # The navigator's box choices are argmaxes: rounding can flip one
            # and move the weights its patch reaches, so the distance is
            # judged against what a wrong all-reduce trains. Summing the
            # replicas' gradients instead of averaging them is the same steps
            # at twice the rate; measured, one device against two after one
            # epoch: 0.024 of that distance (0.12 after three epochs).
            mirrored, single = result["mirrored_trainable"], result["single_trainable"]
            summed = result["summed_trainable"]
            distance = np.linalg.norm(mirrored - single)
            wrong = np.linalg.norm(summed - single)
            assert distance < 0.3 * wrong, (model, float(distance / wrong))
        else:
            np.testing.assert_allclose(
                result["mirrored"], result["single"], atol=2e-3, err_msg=model
            )
        assert "batch_size=15" in str(result["odd_batch_error"])
        # model.fit inside a MirroredStrategy scope trains too.
        assert np.all(np.isfinite(result["fit_losses"])), model
        assert not np.allclose(result["fit"], result["single"]), model
        if model == "coarse2fine":
            # One epoch of stage 1, counted once however many replicas.
            np.testing.assert_array_equal(result["coarse_steps"], [6, 6])


def test_an_unreachable_worker_fails_in_bounded_time(tmp_path):
    own, silent = free_ports(2)
    addresses = [f"127.0.0.1:{own}", f"127.0.0.1:{silent}"]
    env = dict(os.environ, TF_CONFIG=_tf_config(addresses, 0))
    argv = [
        sys.executable, "-m", "keras_rra", "train", "--strategy", "multiworker",
        "--connect-timeout", "5", "--epochs", "1", "--examples-per-class", "2",
        "--num-classes", "2", "--image-size", "32", "--patch-size", "16",
        "--output", str(tmp_path / "run"), "--quiet",
    ]  # fmt: skip
    start = time.monotonic()
    codes, outputs = run_processes([(argv, env)], timeout=120)
    assert time.monotonic() - start < 110
    assert codes[0] != 0
    stderr = outputs[0][1]
    assert "did not form within 5 s" in stderr
    assert f"127.0.0.1:{silent}" in stderr
