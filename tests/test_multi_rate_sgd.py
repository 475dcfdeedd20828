import keras
import numpy as np
import pytest

from keras_rra.models.baseline_classifier import BaselineClassifier
from keras_rra.training.multi_rate_sgd import MultiRateSGD
from tests.helpers import tiny_rra


def _step(optimizer, values, gradients):
    variables = [keras.Variable(v) for v in values]
    optimizer.apply_gradients(
        zip([np.float32(g) for g in gradients], variables, strict=True)
    )
    return [float(v.numpy()) for v in variables]


def test_a_multiplier_scales_that_variables_rate():
    optimizer = MultiRateSGD(0.1, momentum=0.0)
    variables = [keras.Variable(1.0), keras.Variable(1.0)]
    optimizer.set_learning_rate_multiplier(variables[:1], 10.0)
    optimizer.apply_gradients(zip([np.float32(1.0)] * 2, variables, strict=True))
    assert float(variables[0].numpy()) == pytest.approx(1.0 - 1.0)
    assert float(variables[1].numpy()) == pytest.approx(1.0 - 0.1)


def test_l2_weight_decay_is_added_to_the_gradient():
    # torch.optim.SGD: w <- w - lr * (g + wd * w).
    after = _step(MultiRateSGD(0.5, momentum=0.0, l2_weight_decay=0.1), [2.0], [0.0])
    assert after[0] == pytest.approx(2.0 - 0.5 * 0.1 * 2.0)


def test_momentum_matches_keras_sgd():
    ours = MultiRateSGD(0.1, momentum=0.9)
    theirs = keras.optimizers.SGD(0.1, momentum=0.9)
    a, b = keras.Variable(1.0), keras.Variable(1.0)
    for gradient in (1.0, 0.5, -0.25):
        ours.apply_gradients([(np.float32(gradient), a)])
        theirs.apply_gradients([(np.float32(gradient), b)])
    assert float(a.numpy()) == pytest.approx(float(b.numpy()))


def test_config_round_trip_and_errors():
    optimizer = MultiRateSGD(0.01, momentum=0.9, l2_weight_decay=5e-4)
    clone = MultiRateSGD.from_config(optimizer.get_config())
    assert clone.l2_weight_decay == 5e-4 and clone.momentum == 0.9
    with pytest.raises(ValueError, match="l2_weight_decay"):
        MultiRateSGD(l2_weight_decay=-1)
    with pytest.raises(ValueError, match="multiplier"):
        optimizer.set_learning_rate_multiplier([keras.Variable(1.0)], 0)
    variable = keras.Variable(1.0)
    optimizer.build([variable])
    with pytest.raises(ValueError, match="before the optimizer is built"):
        optimizer.set_learning_rate_multiplier([variable], 2.0)


def test_global_stream_variables_of_the_models():
    rra = tiny_rra()
    global_ids = {id(v) for v in rra.global_stream_variables()}
    local_ids = {
        id(v)
        for name in ("local_backbone", "recursive_refinement", "local_classifier")
        for v in rra.get_layer(name).trainable_variables
    }
    assert global_ids and not global_ids & local_ids
    # The rest: temporal attention (2), the navigator (4) and its teacher (2),
    # new layers that learn at the base rate.
    others = {
        id(v)
        for layer in ("temporal_attention", "navigator")
        for v in rra.get_layer(layer).trainable_variables
    } | {id(v) for v in rra.part_teacher.trainable_variables}
    assert len(others) == 8 and not others & (global_ids | local_ids)
    assert len(global_ids | local_ids | others) == len(rra.trainable_variables)
    # A teacher's own copy of the local backbone learns at the local
    # backbone's rate, the base rate.
    own = tiny_rra(teacher="own")
    teacher = {id(v) for v in own.teacher_backbone.trainable_variables}
    assert teacher and not teacher & {id(v) for v in own.global_stream_variables()}
    baseline = BaselineClassifier(num_classes=3, backbone="tiny", image_size=32)
    assert len(baseline.global_stream_variables()) == len(baseline.trainable_variables)


def test_the_private_optimizer_keys_it_rests_on_still_exist():
    # Keras has no public per-variable key or index in its optimizers;
    # MultiRateSGD uses these two. A Keras release that renames them fails
    # here, by name, rather than in a training run.
    import keras

    optimizer = keras.optimizers.SGD()
    variable = keras.Variable(np.zeros(2, "float32"))
    optimizer.build([variable])
    assert optimizer._var_key(variable) is not None
    assert optimizer._get_variable_index(variable) == 0
