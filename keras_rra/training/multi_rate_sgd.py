"""SGD with per-variable learning rates, as the RRA reference code trains."""

import keras
from keras import ops

from keras_rra.utils.validation import check_non_negative


@keras.saving.register_keras_serializable(package="keras_rra")
class MultiRateSGD(keras.optimizers.SGD):
    """SGD with momentum, L2 weight decay and per-variable learning rates.

    The RRA reference code trains with PyTorch's SGD and two parameter
    groups: the global stream has its own learning rate. This optimiser
    does the same in Keras: `set_learning_rate_multiplier(variables, m)`
    makes those variables learn at `m` times the (scheduled) rate. Weight
    decay is added to the gradient (`g + weight_decay * w`), as
    `torch.optim.SGD` does, so the global stream's decay follows its rate;
    Keras' own `weight_decay` argument is the decoupled kind and stays
    available.

    Args:
        learning_rate: float or a `LearningRateSchedule`.
        momentum: float in [0, 1).
        l2_weight_decay: float >= 0, added to the gradient.
        nesterov: bool.
        **kwargs: passed to `keras.optimizers.SGD` (`global_clipnorm`, ...).

    The multipliers belong to a training run, not to the optimiser's saved
    config: a model reloaded from `.keras` trains at one rate until
    `set_learning_rate_multiplier` is called again (the Trainer does so when
    it resumes).

    Example:
    ```python
    optimizer = MultiRateSGD(1e-3, momentum=0.9, l2_weight_decay=5e-4)
    optimizer.set_learning_rate_multiplier(model.global_stream_variables(), 10.0)
    model.compile(optimizer=optimizer)
    ```
    """

    def __init__(
        self,
        learning_rate=0.01,
        momentum=0.9,
        l2_weight_decay=0.0,
        nesterov=False,
        name="multi_rate_sgd",
        **kwargs,
    ):
        super().__init__(
            learning_rate=learning_rate,
            momentum=momentum,
            nesterov=nesterov,
            name=name,
            **kwargs,
        )
        self.l2_weight_decay = check_non_negative("l2_weight_decay", l2_weight_decay)
        self._multipliers_by_key = {}
        self._multipliers = None

    def set_learning_rate_multiplier(self, variables, multiplier):
        """Makes `variables` learn at `multiplier` times the learning rate."""
        if self.built:
            raise ValueError(
                "Set learning-rate multipliers before the optimizer is built "
                "(before the first training step)."
            )
        if not multiplier > 0:
            raise ValueError(f"`multiplier` must be > 0; received {multiplier}.")
        for variable in variables:
            self._multipliers_by_key[self._var_key(variable)] = float(multiplier)

    def learning_rate_multiplier(self, variable):
        """The multiplier of `variable` (1.0 unless set)."""
        if self._multipliers is not None and self.built:
            return self._multipliers[self._get_variable_index(variable)]
        return self._multipliers_by_key.get(self._var_key(variable), 1.0)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._multipliers = [
            self._multipliers_by_key.get(self._var_key(v), 1.0) for v in variables
        ]

    def update_step(self, gradient, variable, learning_rate):
        multiplier = self.learning_rate_multiplier(variable)
        if multiplier != 1.0:
            learning_rate = ops.multiply(learning_rate, multiplier)
        if self.l2_weight_decay:
            gradient = ops.add(
                ops.cast(gradient, variable.dtype),
                ops.multiply(ops.cast(self.l2_weight_decay, variable.dtype), variable),
            )
        super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        config = super().get_config()
        config["l2_weight_decay"] = self.l2_weight_decay
        return config
