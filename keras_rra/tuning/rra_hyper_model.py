"""`RRAHyperModel`: the keras-tuner search space of `RRAClassifier`."""

from keras_rra.tuning.classifier_hyper_model import ClassifierHyperModel


class RRAHyperModel(ClassifierHyperModel):
    """A `keras_tuner.HyperModel` of the RRA classifier (global and local
    streams, T refinement steps).

    Every argument is `ClassifierHyperModel`'s but `model`.

    Example:

    >>> hypermodel = RRAHyperModel(num_classes=10, preset="cpu")
    >>> tuner = keras_tuner.RandomSearch(
    ...     hypermodel, objective="val_accuracy", max_trials=4)
    """

    model_name = "rra"
