"""`Coarse2FineHyperModel`: the keras-tuner search space of `Coarse2FineClassifier`."""

from keras_rra.tuning.classifier_hyper_model import ClassifierHyperModel


class Coarse2FineHyperModel(ClassifierHyperModel):
    """A `keras_tuner.HyperModel` of the Coarse2Fine classifier, trained in
    its two stages in every trial.

    Every argument is `ClassifierHyperModel`'s but `model`.

    Example:

    >>> hypermodel = Coarse2FineHyperModel(num_classes=10, preset="cpu")
    >>> tuner = keras_tuner.RandomSearch(
    ...     hypermodel, objective="val_accuracy", max_trials=4)
    """

    model_name = "coarse2fine"
