"""`ClassifierHyperModel`: a keras-tuner search space over a keras-rra model
and its training."""

import keras_tuner

from keras_rra.training.config import TrainConfig
from keras_rra.training.run import build_model
from keras_rra.training.run import build_optimizer
from keras_rra.training.seed import set_seed
from keras_rra.training.two_stage_training import TwoStageTraining
from keras_rra.tuning.search_space import SearchSpace


class ClassifierHyperModel(keras_tuner.HyperModel):
    """A `keras_tuner.HyperModel` over one keras-rra model and its training.

    `build(hp)` makes the model of a trial exactly as `keras-rra train`
    would with the trial's settings, compiled with the run's optimiser;
    `fit` adds Coarse2Fine's two stages and forwards keras-tuner's
    callbacks. The space is `SearchSpace`'s: every setting of the model
    and of training declared with a range (T, LSTM units and layers, λ,
    patch size, the navigator's settings, Coarse2Fine's attention maps and
    stage split, dropout, learning rate on a log scale, weight decay).

    Settings given as keywords are fixed, as keras-tuner's own
    `HyperResNet` fixes its arguments; `search` narrows or adds ranges
    (a backbone list, say); a tuner's `hyperparameters` with
    `hp.Fixed(name, value)` fixes a setting the keras-tuner way.

    Args:
        model: `"rra"`, `"coarse2fine"` or `"baseline"` (the subclasses set
            it).
        num_classes: the classes to predict (or give `class_names`).
        class_names: optional class names, kept by every trial's model.
        preset: defaults of the model settings, `"cpu"` or `"paper"`.
        search: optional `{setting: range}` (see `SearchSpace`).
        tune: optional setting names: search only these.
        steps_per_epoch: training steps per epoch; a `step` or `cosine`
            learning-rate schedule needs it.
        config: optional `TrainConfig` to start from instead of keywords
            (`fixed` then names its settings the user chose).
        fixed: with `config`, the settings not to search.
        name: as `keras_tuner.HyperModel`.
        tunable: as `keras_tuner.HyperModel`.
        **settings: any setting of `keras-rra train` (`timesteps=4`,
            `backbone="mobilenetv3small"`, `epochs=10`): fixed.

    Example:

    >>> hypermodel = RRAHyperModel(num_classes=10, search={"timesteps": [1, 4, 10]})
    >>> tuner = keras_tuner.RandomSearch(
    ...     hypermodel, objective="val_accuracy", max_trials=8)
    >>> tuner.search(train_data, validation_data=validation_data, epochs=5)
    """

    model_name = None

    def __init__(
        self,
        model=None,
        num_classes=None,
        class_names=None,
        preset=None,
        search=None,
        tune=None,
        steps_per_epoch=None,
        config=None,
        fixed=(),
        name=None,
        tunable=True,
        **settings,
    ):
        super().__init__(name=name, tunable=tunable)
        model = model or self.model_name or (config.model if config else "rra")
        if self.model_name is not None and model != self.model_name:
            raise ValueError(
                f"{type(self).__name__} tunes model {self.model_name!r}; received "
                f"model={model!r}."
            )
        if class_names is None:
            if num_classes is None:
                raise ValueError("Give num_classes or class_names.")
            class_names = [f"class_{index}" for index in range(int(num_classes))]
        elif num_classes is not None and num_classes != len(class_names):
            raise ValueError(
                f"num_classes={num_classes} but {len(class_names)} class names."
            )
        if len(class_names) < 2:
            raise ValueError(
                f"A classifier needs at least two classes; received {class_names}."
            )
        if config is None:
            given = dict(settings)
            if preset is not None:
                given["preset"] = preset
            config = TrainConfig(model=model, **given)
            config.validate()
            fixed = tuple(settings)
        elif settings or preset is not None:
            raise ValueError("Give settings as keywords or as `config`, not both.")
        elif config.model != model:
            raise ValueError(
                f"config is for model {config.model!r}; this hypermodel tunes "
                f"{model!r}."
            )
        self.model = model
        self.num_classes = len(class_names)
        self.class_names = list(class_names)
        self.preset = config.preset
        self.search = search
        self.tune = tune
        self.steps_per_epoch = steps_per_epoch
        self.config = config
        self.fixed = tuple(fixed)
        self.space = SearchSpace(config, search=search, tune=tune, fixed=self.fixed)
        self._executions = {}
        if config.schedule != "constant" and steps_per_epoch is None:
            raise ValueError(
                f"schedule={config.schedule!r} needs steps_per_epoch (the training "
                "steps in one epoch)."
            )

    def trial_config(self, hp):
        """The `TrainConfig` of the trial `hp` describes."""
        values = self.space.declare(hp)
        try:
            return self.space.config_for(values)
        except ValueError as error:
            # A contradictory combination fails this trial only.
            raise keras_tuner.errors.FailedTrialError(
                f"settings {values} are not a valid run: {error}"
            ) from None

    def build(self, hp):
        config = self.trial_config(hp)
        # A trial's first training starts from the run's seed, so two trials
        # differ only by their settings; its further executions
        # (`executions_per_trial`) from the next seeds, so that their mean
        # is a mean over initialisations.
        execution = self._executions.get(id(hp), -1) + 1
        self._executions = {id(hp): execution}
        set_seed(config.seed + execution)
        model = build_model(config, self.class_names)
        model.compile(optimizer=build_optimizer(config, model, self.steps_per_epoch))
        return model

    def fit(self, hp, model, *args, **kwargs):
        """Trains as `keras-rra train` does: Coarse2Fine in its two stages,
        `epochs` from the settings unless the tuner sets them (Hyperband);
        keras-tuner's callbacks (checkpoint of the best epoch, TensorBoard)
        and the caller's are forwarded."""
        config = self.trial_config(hp)
        callbacks = list(kwargs.pop("callbacks", None) or [])
        if config.model == "coarse2fine":
            callbacks.insert(0, TwoStageTraining(config.stage1_epochs))
        kwargs.setdefault("epochs", config.epochs)
        # keras-rra's datasets shuffle themselves; `fit`'s own shuffle only
        # warns about a dataset.
        kwargs.setdefault("shuffle", False)
        return model.fit(*args, callbacks=callbacks, **kwargs)
