"""Floating-point operations of a training step, counted from its graph."""


def training_flops(model, batch_size):
    """FLOPs per image of one training step of `model`: the forward pass,
    the loss (with any extra loss terms, such as the navigator's) and the
    gradients of every trainable variable; not the optimizer's update.

    TensorFlow's profiler counts them from the traced graph, op by op, from
    the shapes (convolutions and their two backward ops, matrix products,
    element-wise arithmetic); ops it has no count for (gathers, the patch
    sampler's indexing) add nothing. A backward pass costs about twice the
    forward one, so a training step is about three forward passes.

    Args:
        model: a built, compiled Keras model with one image input and
            integer labels (a keras-rra classifier).
        batch_size: the batch the step is traced with (the count is per
            image; batch norm and the loss add a little per batch).

    Returns:
        FLOPs per image, a float.

    Example:

    >>> import keras
    >>> model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(10)])
    >>> model.compile(loss="sparse_categorical_crossentropy")
    >>> 320 <= training_flops(model, 4) < 500  # 2 x 8 x 10, twice
    True
    """
    import tensorflow as tf

    images = tf.TensorSpec((batch_size, *model.inputs[0].shape[1:]), "float32")
    labels = tf.TensorSpec((batch_size,), "int32")

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            y_pred = model(x, training=True)
            loss = model.compute_loss(x=x, y=y, y_pred=y_pred, training=True)
        return tape.gradient(loss, model.trainable_variables)

    graph = step.get_concrete_function(images, labels).graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    profile = tf.compat.v1.profiler.profile(graph, options=options)
    return profile.total_float_ops / batch_size
