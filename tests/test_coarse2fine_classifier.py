import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_rra.models import BaselineClassifier
from keras_rra.models import Coarse2FineClassifier
from keras_rra.training import Trainer
from keras_rra.training import TwoStageTraining
from keras_rra.training.seed import set_seed
from tests.helpers import CrashAfter
from tests.helpers import assert_tflite_matches
from tests.helpers import run_model_test
from tests.helpers import tiny_synthetic

SMALL = {
    "num_classes": 4,
    "backbone": "tiny",
    "image_size": 32,
    "num_attention_maps": 4,
    "decoder_filters": 8,
    "fine_input": "zoom",
}
# The default fine input: a navigator's boxes, cut from a 64-px input.
NAVIGATOR = dict(SMALL, fine_input="navigator", input_size=64)
NO_COARSE = "no stage-1"


def _images(batch=4, size=32):
    return np.random.uniform(0, 255, (batch, size, size, 3)).astype("float32")


def _labels(batch=4):
    return np.arange(batch) % 4


def _shapes(batch=4):
    return {
        "logits": (batch, 4),
        "coarse_logits": (batch, 4),
        "fine_logits": (batch, 4),
        "saliency": (batch, 32, 32, 1),
        "attention_maps": (batch, 4, 4, 4),
        "zoom_box": (batch, 4),
    }


def _softmax(x):
    x = np.asarray(x)
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _values(layer):
    return [np.array(w) for w in layer.get_weights()]


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("fine_input", ["zoom", "mask"])
def test_model_contract(fine_input):
    model = run_model_test(
        Coarse2FineClassifier,
        dict(SMALL, fine_input=fine_input),
        _images(),
        _labels(),
        _shapes(),
    )
    assert model.stage == 1


def test_stage_and_coarse_steps_survive_save_and_load(tmp_path):
    model = Coarse2FineClassifier(**SMALL)
    model.compile()
    model.fit(_images(), _labels(), batch_size=2, epochs=1, verbose=0)
    model.set_stage(2)
    path = str(tmp_path / "model.keras")
    model.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # loading must not warn
        restored = keras.saving.load_model(path)
    assert restored.stage == 2
    assert int(restored.coarse_steps.numpy()) == 2
    np.testing.assert_allclose(restored(_images(2, 32))["logits"].shape, (2, 4), atol=0)
    x = _images()
    np.testing.assert_allclose(restored(x)["logits"], model(x)["logits"], atol=1e-6)


def test_attention_kernel_starts_orthonormal():
    model = Coarse2FineClassifier(**SMALL)
    kernel = np.array(model.get_layer("attention_maps").projection.kernel)
    kernel = kernel.reshape(-1, 4)
    np.testing.assert_allclose(kernel.T @ kernel, np.eye(4), atol=1e-5)


def test_prediction_is_coarse_in_stage_1_and_the_mean_in_stage_2():
    model = Coarse2FineClassifier(**SMALL)
    out = model(_images())
    np.testing.assert_allclose(
        _softmax(out["logits"]), _softmax(out["coarse_logits"]), atol=1e-6
    )
    with pytest.warns(UserWarning, match=NO_COARSE):
        model.set_stage(2)
    out = model(_images())
    np.testing.assert_allclose(
        _softmax(out["logits"]),
        (_softmax(out["coarse_logits"]) + _softmax(out["fine_logits"])) / 2,
        atol=1e-6,
    )


def test_stage_2_loss_is_both_cross_entropies_plus_the_area_term():
    model = Coarse2FineClassifier(**SMALL, area_weight=0.3, stage=2)
    with pytest.warns(UserWarning, match=NO_COARSE):
        model.compile()
    x, y = _images(), _labels()
    out = model(x)
    ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    expected = (
        ce(y, out["coarse_logits"])
        + ce(y, out["fine_logits"])
        + 0.3 * np.mean(out["saliency"])
    )
    loss = model.compute_loss(x, y, out)
    assert float(loss) == pytest.approx(float(expected), rel=1e-5)
    model.set_stage(1)
    assert float(model.compute_loss(x, y, out)) == pytest.approx(
        float(ce(y, out["coarse_logits"])), rel=1e-5
    )


def test_gradients_of_the_fine_loss_reach_inverse_mapping_and_attention():
    model = Coarse2FineClassifier(**SMALL)
    x, y = _images(), _labels()
    ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    decoder = model.get_layer("inverse_mapping").trainable_variables
    attention = model.get_layer("attention_maps").trainable_variables
    with tf.GradientTape() as tape:
        loss = ce(y, model(x, training=True)["fine_logits"])
    gradients = tape.gradient(loss, [v.value for v in decoder + attention])
    for variable, gradient in zip(decoder + attention, gradients, strict=True):
        assert gradient is not None, variable.path
        gradient = np.asarray(gradient)
        assert np.isfinite(gradient).all(), variable.path
        assert np.abs(gradient).max() > 0, variable.path


def test_stage_1_leaves_the_inverse_mapping_alone_and_stage_2_trains_it():
    model = Coarse2FineClassifier(**SMALL)
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    decoder = model.get_layer("inverse_mapping")
    attention = model.get_layer("attention_maps")
    decoder_start, attention_start = _values(decoder), _values(attention)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "gradients do not exist" warning
        model.fit(_images(8), _labels(8), batch_size=4, epochs=1, verbose=0)
    assert int(model.coarse_steps.numpy()) == 2
    assert _same(_values(decoder), decoder_start)
    assert not _same(_values(attention), attention_start)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # had stage 1: no warning
        model.set_stage(2)
    model.fit(_images(8), _labels(8), batch_size=4, epochs=1, verbose=0)
    assert int(model.coarse_steps.numpy()) == 2
    assert not _same(_values(decoder), decoder_start)


def test_two_stage_training_in_fit():
    model = Coarse2FineClassifier(**SMALL)
    model.compile()
    decoder = model.get_layer("inverse_mapping")
    seen = []

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append((model.stage, _same(_values(decoder), start)))

    start = _values(decoder)
    history = model.fit(
        tiny_synthetic(),
        epochs=3,
        validation_data=tiny_synthetic("test"),
        callbacks=[TwoStageTraining(1), Record()],
        verbose=0,
    )
    assert seen == [(1, True), (2, False), (2, False)]
    assert int(model.coarse_steps.numpy()) == 4  # one epoch of 4 batches
    losses = history.history
    # Stage 1 trains on the coarse term only; stage 2 on both.
    assert losses["loss"][0] == pytest.approx(losses["coarse_logits_loss"][0])
    assert losses["loss"][2] == pytest.approx(
        losses["coarse_logits_loss"][2] + losses["fine_logits_loss"][2], rel=1e-5
    )
    assert "val_fine_logits_loss" in losses


def _trainer(directory, crash_at=None):
    set_seed(0)
    trainer = Trainer(
        lambda: Coarse2FineClassifier(**SMALL),
        optimizer=lambda _: keras.optimizers.SGD(0.05, momentum=0.9),
        strategy="default",
        checkpoint_dir=str(directory),
        checkpoint_every=3,
    )
    callbacks = [TwoStageTraining(1)]
    if crash_at:
        callbacks.append(CrashAfter(crash_at))
    history = trainer.fit(tiny_synthetic(), epochs=3, callbacks=callbacks, verbose=0)
    return trainer, history


def test_two_stage_training_in_the_trainer_resumes_in_stage_2(tmp_path):
    straight, history = _trainer(tmp_path / "straight")
    assert straight.model.stage == 2
    assert int(straight.model.coarse_steps.numpy()) == 4
    losses = history.history
    assert losses["loss"][0] == pytest.approx(losses["coarse_logits_loss"][0])
    assert losses["loss"][2] == pytest.approx(
        losses["coarse_logits_loss"][2] + losses["fine_logits_loss"][2], rel=1e-5
    )
    with pytest.raises(KeyboardInterrupt):
        _trainer(tmp_path / "resumed", crash_at=10)  # epoch 3, stage 2
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # restored coarse steps
        resumed, _ = _trainer(tmp_path / "resumed")
    assert resumed.model.stage == 2
    assert int(resumed.model.coarse_steps.numpy()) == 4
    for a, b in zip(
        resumed.model.get_weights(), straight.model.get_weights(), strict=True
    ):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_stage_2_without_stage_1_warns_once():
    model = Coarse2FineClassifier(**SMALL, stage=2)
    with pytest.warns(UserWarning, match=NO_COARSE):
        model.compile()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.compile()
    with pytest.warns(UserWarning, match=NO_COARSE):
        model = Coarse2FineClassifier(**SMALL)
        model.compile()
        model.fit(
            _images(), _labels(), epochs=1, verbose=0, callbacks=[TwoStageTraining(0)]
        )


def test_two_stage_training_needs_a_staged_model():
    model = BaselineClassifier(num_classes=4, backbone="tiny", image_size=32)
    model.compile()
    with pytest.raises(ValueError, match="BaselineClassifier"):
        model.fit(_images(), _labels(), callbacks=[TwoStageTraining(1)], verbose=0)
    with pytest.raises(ValueError, match="stage1_epochs"):
        TwoStageTraining(-1)


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"num_attention_maps": 0}, "num_attention_maps"),
        ({"fine_input": "crop"}, "fine_input"),
        ({"stage": 3}, "stage"),
        ({"area_weight": -1.0}, "area_weight"),
        ({"min_zoom_extent": 0.0}, "min_zoom_extent"),
        ({"num_attention_maps": 512}, "num_attention_maps=512"),
        # The tiny backbone has stride 8: an 8-pixel image gives a 1x1 map.
        ({"image_size": 8}, r"\(1, 1\) is too small for the inverse mapping"),
    ],
)
def test_bad_arguments_are_named(changes, match):
    with pytest.raises(ValueError, match=match):
        Coarse2FineClassifier(**dict(SMALL, **changes))


def test_set_stage_rejects_unknown_stages():
    with pytest.raises(ValueError, match="stage"):
        Coarse2FineClassifier(**SMALL).set_stage(0)


def test_zoom_box_is_inside_the_image():
    boxes = np.asarray(Coarse2FineClassifier(**SMALL)(_images())["zoom_box"])
    assert (boxes >= 0).all() and (boxes <= 1).all()
    assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()


@pytest.mark.parametrize("fine_input, stage", [("zoom", 1), ("mask", 2)])
def test_converts_to_tflite_with_builtin_ops_only(fine_input, stage):
    model = Coarse2FineClassifier(**dict(SMALL, fine_input=fine_input), stage=stage)
    assert_tflite_matches(model, _images(2))


def test_mixed_bfloat16_trains_both_stages_with_float32_outputs():
    trainer = Trainer(
        lambda: Coarse2FineClassifier(**SMALL),
        strategy="default",
        mixed_precision="mixed_bfloat16",
    )
    history = trainer.fit(
        tiny_synthetic(), epochs=2, callbacks=[TwoStageTraining(1)], verbose=0
    )
    assert np.isfinite(history.history["loss"]).all()
    outputs = trainer.model(_images())
    for name in ("logits", "coarse_logits", "fine_logits", "saliency", "zoom_box"):
        assert keras.backend.standardize_dtype(outputs[name].dtype) == "float32", name


def _navigator_shapes(batch=4):
    shapes = {k: v for k, v in _shapes(batch).items() if k != "saliency"}
    shapes.update(
        part_boxes=(batch, 2, 4),
        part_scores=(batch, 2),
        navigator_scores=(batch, 4, 4, 1),
    )
    return shapes


def test_model_contract_navigator():
    run_model_test(
        Coarse2FineClassifier,
        NAVIGATOR,
        _images(size=64),
        _labels(),
        _navigator_shapes(),
    )


def test_navigator_is_the_default_fine_input():
    arguments = {k: v for k, v in NAVIGATOR.items() if k != "fine_input"}
    model = Coarse2FineClassifier(**arguments)
    assert model.fine_input == "navigator"
    assert model.anchor_sizes == (0.5,)
    assert model.anchor_density == 1


def test_a_denser_navigator_gives_the_teacher_its_finer_grid():
    model = Coarse2FineClassifier(**NAVIGATOR, anchor_sizes=[0.25], anchor_density=2)
    out = model(_images(size=64))
    grid = model.navigator.grid_size
    # Its 4 × 4 feature map (see `_navigator_shapes`), 2 × 2 centres per cell.
    assert grid == (8, 8)
    assert out["navigator_scores"].shape[1:3] == grid
    assert model.anchor_pooling.anchor_grid_size == grid
    assert model.get_config()["anchor_density"] == 2


def test_navigator_fine_view_is_the_mean_over_its_boxes():
    model = Coarse2FineClassifier(**NAVIGATOR, stage=2)
    images = _images(size=64)
    out = model(images)
    boxes = np.asarray(out["part_boxes"])
    np.testing.assert_allclose(out["zoom_box"], boxes[:, 0])
    np.testing.assert_allclose(boxes[..., 2:] - boxes[..., :2], 0.5, atol=1e-6)
    sampler = model.get_layer("patch_sampler")
    per_box = []
    for k in range(2):
        view = sampler(images, boxes[:, k])
        sub = keras.Model(
            model.get_layer("backbone").input, model.get_layer("backbone").output
        )
        features = sub(view)
        maps = model.get_layer("attention_maps")(features)
        pooled = model.get_layer("attention_pooling")(features, maps)
        per_box.append(np.asarray(model.get_layer("classifier")(pooled)))
    np.testing.assert_allclose(out["fine_logits"], np.mean(per_box, 0), atol=1e-4)


def test_navigator_learns_in_both_stages():
    model = Coarse2FineClassifier(**NAVIGATOR)
    # The fine pass learns on the teacher's box from stage 2 on, with the
    # fine head.
    assert model.extra_loss_terms == {"teacher": 1.0, "ranking": 1.0, "guided": 0.0}
    model.compile()
    images, labels = _images(size=64), _labels()
    navigator = _values(model.get_layer("navigator"))
    history = model.fit(images, labels, epochs=1, verbose=0)
    assert np.isfinite(history.history["ranking_loss"][0])
    assert not _same(navigator, _values(model.get_layer("navigator")))
    model.set_stage(2)
    assert model.extra_loss_terms == {"teacher": 1.0, "ranking": 1.0, "guided": 1.0}
    history = model.fit(images, labels, epochs=1, verbose=0)
    assert np.isfinite(history.history["teacher_loss"][0])
    assert np.isfinite(history.history["guided_loss"][0])
    metrics = model.evaluate(images, labels, verbose=0, return_dict=True)
    assert np.isfinite(metrics["ranking_loss"])


def test_the_navigators_teacher_shares_the_backbone_or_has_its_own():
    # Shared by default: the teacher's loss trains the one backbone too.
    shared = Coarse2FineClassifier(**NAVIGATOR)
    assert shared.teacher == "shared"
    assert shared.teacher_backbone is shared.backbone
    model = Coarse2FineClassifier(**NAVIGATOR, teacher="own")
    assert model.teacher_backbone is not model.backbone
    start = _values(model.teacher_backbone)
    assert _same(start, _values(model.backbone))
    model.compile()
    model.fit(_images(size=64), _labels(), epochs=1, verbose=0)
    # Trained by the teacher's loss, apart from the backbone.
    assert not _same(start, _values(model.teacher_backbone))
    assert not _same(_values(model.teacher_backbone), _values(model.backbone))
    restored = Coarse2FineClassifier.from_config(model.get_config())
    assert restored.teacher == "own"
    assert len(restored.weights) == len(shared.weights) + len(
        model.teacher_backbone.weights
    )


def test_the_navigators_teacher_points_at_a_box_of_the_navigators_size():
    model = Coarse2FineClassifier(**NAVIGATOR)
    boxes = model.teacher_boxes(_images(size=64), _labels())
    assert boxes.shape == (4, 4)
    np.testing.assert_allclose((boxes[:, 2:] - boxes[:, :2]).prod(-1), 0.25)
    assert ((boxes >= 0) & (boxes <= 1)).all()
    # Without the navigator there is none.
    zoom = Coarse2FineClassifier(**SMALL)
    assert zoom.teacher_boxes(_images(), _labels()) is None


def test_navigator_converts_to_tflite_with_builtin_ops_only():
    model = Coarse2FineClassifier(**NAVIGATOR, stage=2)
    assert_tflite_matches(model, _images(2, size=64))


def test_mask_needs_the_input_at_the_model_size():
    with pytest.raises(ValueError, match="fine_input='mask'.*input_size"):
        Coarse2FineClassifier(**dict(SMALL, fine_input="mask", input_size=64))
