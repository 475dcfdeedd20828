"""Floating-point operations of a prediction, counted from its graph."""


def inference_flops(model):
    """FLOPs per image of `model(images, training=False)`: what a deployed
    model computes for one image (a navigator's teacher does not run).

    Counted by TensorFlow's profiler from the traced graph, as
    `training_flops` counts a training step.

    Args:
        model: a built Keras model whose first input is images (a keras-rra
            classifier; RRA with `patch="boxes"` is counted with one box).

    Returns:
        FLOPs per image, a float.

    Example:

    >>> import keras
    >>> model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(10)])
    >>> 160 <= inference_flops(model) < 200  # 2 x 8 x 10, and the bias
    True
    """
    import tensorflow as tf

    # One image; an input of unknown length (candidate boxes) holds one.
    specs = [
        tf.TensorSpec((1, *(size or 1 for size in tensor.shape[1:])), "float32")
        for tensor in model.inputs
    ]

    @tf.function
    def predict(inputs):
        return model(inputs if len(inputs) > 1 else inputs[0], training=False)

    graph = predict.get_concrete_function(specs).graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return float(tf.compat.v1.profiler.profile(graph, options=options).total_float_ops)
