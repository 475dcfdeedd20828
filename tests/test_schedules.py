import pytest

from keras_rra.training.schedules import build_schedule


def test_constant():
    assert build_schedule(0.01) == 0.01


def test_step_decay_at_the_given_epochs():
    schedule = build_schedule(1.0, "step", steps_per_epoch=10, decay_epochs=(3, 6))
    rates = {step: float(schedule(step)) for step in (0, 29, 30, 59, 60, 100)}
    assert rates == pytest.approx(
        {0: 1.0, 29: 1.0, 30: 0.1, 59: 0.1, 60: 0.01, 100: 0.01}
    )


def test_cosine_with_warmup():
    schedule = build_schedule(
        1.0, "cosine", steps_per_epoch=10, epochs=10, warmup_epochs=2
    )
    assert float(schedule(0)) == pytest.approx(0.0)
    assert float(schedule(10)) == pytest.approx(0.5)
    assert float(schedule(20)) == pytest.approx(1.0)
    assert float(schedule(60)) == pytest.approx(0.5, abs=1e-6)
    assert float(schedule(100)) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"schedule": "linear"}, "Unknown schedule 'linear'"),
        ({"schedule": "step", "steps_per_epoch": None}, "steps per epoch"),
        ({"schedule": "step", "steps_per_epoch": 5, "decay_epochs": [0]}, ">= 1"),
        ({"schedule": "step", "warmup_epochs": 1}, "cosine schedule only"),
        (
            {
                "schedule": "cosine",
                "steps_per_epoch": 5,
                "epochs": 2,
                "warmup_epochs": 2,
            },
            "not shorter than the run",
        ),
    ],
)
def test_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_schedule(0.1, **kwargs)
