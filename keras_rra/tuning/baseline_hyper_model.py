"""`BaselineHyperModel`: the keras-tuner search space of `BaselineClassifier`."""

from keras_rra.tuning.classifier_hyper_model import ClassifierHyperModel


class BaselineHyperModel(ClassifierHyperModel):
    """A `keras_tuner.HyperModel` of the baseline (the global view only).

    Every argument is `ClassifierHyperModel`'s but `model`.

    Example:

    >>> hypermodel = BaselineHyperModel(num_classes=10, preset="cpu")
    >>> tuner = keras_tuner.RandomSearch(
    ...     hypermodel, objective="val_accuracy", max_trials=4)
    """

    model_name = "baseline"
