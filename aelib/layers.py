"""A faster way to compute one of the article's convolutions, with the same weights.

The conv autoencoder ends in a 7x7 convolution from 4 feature maps to 1 (the
image). CPU convolution kernels vectorize over channels, so with 4 in and 1
out almost every vector lane idles: in a profile of the conv model's training
step this one layer's forward and backward passes took about a quarter of the
time while doing under a tenth of the arithmetic.

:class:`BlockedConv2D` computes the same convolution on 2x2 pixel blocks:
the padded input is rearranged so that each 2x2 block of pixels becomes one
pixel with 4x the channels ("space to depth"), the kernel is rearranged to
match (a 4x4 kernel from 4*C_in to 4*C_out channels, a few taps of it zero),
one stride-1 "valid" convolution runs on the half-size maps, and the result
is rearranged back. Every output is the same sum of the same products (only
the order of the additions differs); the layer keeps the ``(k, k, C_in, C_out)``
kernel of ``keras.layers.Conv2D``, so weights, parameter counts, saved files
and gradients are the stock layer's.
"""

from __future__ import annotations

import functools

import keras
import numpy as np
from keras import ops

__all__ = ["BlockedConv2D"]

BLOCK = 2  #: pixels per block side


@functools.cache
def _tap_index(kernel_size: int, block: int) -> np.ndarray:
    """Index into the flattened kernel (``k*k`` = a zero tap) for each blocked tap.

    Output pixel ``block*i + a`` sums padded input pixels ``block*i + a + t``
    for taps ``t < k``. Writing ``a + t = block*q + c`` (input block offset
    ``q``, position ``c`` inside the block), its weight is ``w[block*q + c - a]``
    when that tap exists. Shape ``(q_y, q_x, c_y, c_x, a_y, a_x)``.
    """
    k, b = kernel_size, block
    n_q = (b - 1 + k - 1) // b + 1
    index = np.full((n_q, n_q, b, b, b, b), k * k, dtype="int32")
    for qy, qx, cy, cx, ay, ax in np.ndindex(index.shape):
        ty, tx = b * qy + cy - ay, b * qx + cx - ax
        if 0 <= ty < k and 0 <= tx < k:
            index[qy, qx, cy, cx, ay, ax] = ty * k + tx
    return index


def _to_blocks(x, block: int):
    """``(N, H, W, C)`` -> ``(N, H/b, W/b, b*b*C)``, channels ordered (row, column, C)."""
    _, h, w, c = x.shape
    x = ops.reshape(x, (-1, h // block, block, w // block, block, c))
    x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
    return ops.reshape(x, (-1, h // block, w // block, block * block * c))


def _from_blocks(x, block: int, channels: int):
    """The inverse of :func:`_to_blocks`."""
    _, h, w, _ = x.shape
    x = ops.reshape(x, (-1, h, w, block, block, channels))
    x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
    return ops.reshape(x, (-1, h * block, w * block, channels))


def blocked_conv(inputs, kernel, block: int = BLOCK):
    """``ops.conv(inputs, kernel, padding="same")`` (stride 1, channels last), on blocks.

    ``inputs`` is ``(N, H, W, C_in)`` with H and W divisible by ``block``;
    ``kernel`` is square, ``(k, k, C_in, C_out)``.
    """
    k, _, c_in, c_out = kernel.shape
    _, h, w, _ = inputs.shape
    before = (k - 1) // 2  # "same" padding, as TensorFlow and JAX place it
    n_q = _tap_index(k, block).shape[0]
    # pad to "same", then on to whole blocks covering every tap of every output
    extra_h, extra_w = (h // block + n_q - 1) * block - h, (w // block + n_q - 1) * block - w
    x = ops.pad(inputs, ((0, 0), (before, extra_h - before), (before, extra_w - before), (0, 0)))
    taps = ops.concatenate(
        [ops.reshape(kernel, (k * k, c_in, c_out)), ops.zeros((1, c_in, c_out), kernel.dtype)], axis=0
    )
    w_blocks = ops.take(taps, _tap_index(k, block), axis=0)  # (qy, qx, cy, cx, ay, ax, C_in, C_out)
    w_blocks = ops.transpose(w_blocks, (0, 1, 2, 3, 6, 4, 5, 7))
    w_blocks = ops.reshape(w_blocks, (n_q, n_q, block * block * c_in, block * block * c_out))
    y = ops.conv(_to_blocks(x, block), w_blocks, strides=1, padding="valid")
    return _from_blocks(y, block, c_out)


@keras.saving.register_keras_serializable(package="aelib")
class BlockedConv2D(keras.layers.Conv2D):
    """``keras.layers.Conv2D`` that computes its convolution on 2x2 pixel blocks.

    Takes ``keras.layers.Conv2D``'s arguments and has its weights; see the
    module docstring for how and why. The blocked form is used for what it
    was measured on: stride 1, no dilation, ``"same"`` padding, channels last,
    a square kernel and even input height and width; any other configuration
    computes exactly as ``keras.layers.Conv2D``.
    """

    def _blocked(self, inputs) -> bool:
        _, h, w, _ = inputs.shape
        return (
            tuple(self.strides) == (1, 1)
            and tuple(self.dilation_rate) == (1, 1)
            and self.padding == "same"
            and self.data_format == "channels_last"
            and self.groups == 1
            and self.kernel_size[0] == self.kernel_size[1]
            and h is not None and w is not None and h % BLOCK == 0 and w % BLOCK == 0
        )

    def convolution_op(self, inputs, kernel):
        if self._blocked(inputs):
            return blocked_conv(inputs, kernel)
        return super().convolution_op(inputs, kernel)
