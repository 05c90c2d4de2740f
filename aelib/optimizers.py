"""Adam with TensorFlow's fused update kernel.

Keras 3 writes Adam's update in backend-neutral ops: for each variable about
fifteen small kernels (the step count, the two bias corrections, the two
moment updates, the square root, the division, the assignments). On a CPU
each kernel launch costs a few microseconds, and for the dense autoencoder
that overhead is about a fifth of a training step. TensorFlow ships the same
update as one kernel, ``ResourceApplyAdam``; :class:`FusedAdam` calls it.

The maths is Keras's Adam exactly::

    alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)
    m += (g - m) * (1 - beta_1)
    v += (g**2 - v) * (1 - beta_2)
    w -= alpha * m / (sqrt(v) + epsilon)

only the floating-point rounding of the fused kernel differs.
"""

from __future__ import annotations

import keras

__all__ = ["FusedAdam"]


@keras.saving.register_keras_serializable(package="aelib")
class FusedAdam(keras.optimizers.Adam):
    """``keras.optimizers.Adam`` whose update runs as one fused kernel per variable.

    Takes the same arguments as ``keras.optimizers.Adam`` and saves and loads
    like it (in ``.keras`` files as ``aelib>FusedAdam``). The fused kernel is
    used on the TensorFlow backend for dense float32 variables without
    ``amsgrad``; anything else (other backends, ``amsgrad=True``, other dtypes,
    sparse gradients) takes Keras's own update.
    """

    def update_step(self, gradient, variable, learning_rate):
        if not self._can_fuse(gradient, variable):
            return super().update_step(gradient, variable, learning_rate)
        import tensorflow as tf

        index = self._get_variable_index(variable)
        step = tf.cast(self.iterations + 1, tf.float32)
        beta_1 = tf.constant(self.beta_1, tf.float32)
        beta_2 = tf.constant(self.beta_2, tf.float32)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle,
            m=self._momentums[index].handle,
            v=self._velocities[index].handle,
            beta1_power=tf.pow(beta_1, step),
            beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(learning_rate, tf.float32),
            beta1=beta_1,
            beta2=beta_2,
            epsilon=tf.constant(self.epsilon, tf.float32),
            grad=tf.cast(gradient, tf.float32),
        )

    def _can_fuse(self, gradient, variable) -> bool:
        if keras.backend.backend() != "tensorflow" or self.amsgrad:
            return False
        import tensorflow as tf

        return (
            isinstance(variable, tf.Variable)
            and not isinstance(gradient, tf.IndexedSlices)
            and keras.backend.standardize_dtype(variable.dtype) == "float32"
        )
