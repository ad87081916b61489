import keras
from keras import ops

from keras_attn.layers import _validation as check


def _pair(name, value):
    """`value` as an `(int, int)` pair; accepts an int or a length-2 list."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(
                f"`{name}` must be an int or a pair (height, width); "
                f"received {name}={value!r}."
            )
        return tuple(
            check.positive_int(f"{name}[{i}]", v) for i, v in enumerate(value)
        )
    check.positive_int(name, value)
    return (value, value)


@keras.saving.register_keras_serializable(package="keras_attn")
class PatchEmbedding(keras.layers.Layer):
    """Vision Transformer input layer: patches, class token, positions.

    Splits `(batch, height, width, channels)` images into non-overlapping
    `patch_size` patches with a strided convolution (a linear projection of
    each flattened patch), prepends an optional learned class token and adds
    learned position embeddings. For images of another size than
    `image_size` (fine-tuning at a new resolution), the grid of patch
    position embeddings is resized with `interpolation`; the class token's
    position is kept.

    Args:
        image_size: int or `(height, width)`. The size the position table
            is built for.
        patch_size: int or `(height, width)`. Must divide `image_size`.
        hidden_dim: int. Embedding size.
        use_class_token: bool. Prepend a learned [CLS] token. Defaults to
            True.
        kernel_initializer: initializer of the projection. Defaults to
            `"glorot_uniform"`.
        position_initializer: initializer of the position table and class
            token. Defaults to a normal with standard deviation 0.02.
        interpolation: `"bicubic"` or `"bilinear"`, for resizing the position
            grid. Defaults to `"bicubic"`.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        images: `(batch, height, width, channels)` tensor (channels last);
            height and width must be multiples of `patch_size`.

    Returns:
        `(batch, num_patches + use_class_token, hidden_dim)` tensor, class
        token first.

    Example:

    >>> import numpy as np
    >>> layer = PatchEmbedding(image_size=8, patch_size=2, hidden_dim=16)
    >>> tuple(layer(np.random.rand(2, 8, 8, 1).astype("float32")).shape)
    (2, 17, 16)
    >>> tuple(layer(np.random.rand(2, 12, 12, 1).astype("float32")).shape)
    (2, 37, 16)

    References:
        - Dosovitskiy et al., "An Image is Worth 16x16 Words: Transformers
          for Image Recognition at Scale", 2021 (section 3.2 on fine-tuning
          at higher resolution). https://arxiv.org/abs/2010.11929
    """

    def __init__(
        self,
        image_size,
        patch_size,
        hidden_dim,
        use_class_token=True,
        kernel_initializer="glorot_uniform",
        position_initializer=None,
        interpolation="bicubic",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.image_size = image_size
        self.patch_size = patch_size
        self._image_hw = _pair("image_size", image_size)
        self._patch_hw = _pair("patch_size", patch_size)
        for size, patch, axis in zip(
            self._image_hw, self._patch_hw, ("height", "width"), strict=True
        ):
            if size % patch:
                raise ValueError(
                    f"The image {axis} must be a multiple of the patch "
                    f"{axis}; received image_size={image_size!r} and "
                    f"patch_size={patch_size!r}."
                )
        self.hidden_dim = check.positive_int("hidden_dim", hidden_dim)
        if not isinstance(use_class_token, bool):
            raise TypeError(
                "`use_class_token` must be a bool; received "
                f"use_class_token={use_class_token!r}."
            )
        self.use_class_token = use_class_token
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        if position_initializer is None:
            position_initializer = keras.initializers.RandomNormal(stddev=0.02)
        self.position_initializer = keras.initializers.get(position_initializer)
        if interpolation not in ("bicubic", "bilinear"):
            raise ValueError(
                "`interpolation` must be 'bicubic' or 'bilinear'; received "
                f"interpolation={interpolation!r}."
            )
        self.interpolation = interpolation

    @property
    def grid_size(self):
        """`(rows, columns)` of patches at `image_size`."""
        return tuple(
            s // p for s, p in zip(self._image_hw, self._patch_hw, strict=True)
        )

    def _grid_for(self, images_shape):
        """Patch grid of an images shape; checks rank, size and channels."""
        name = self.__class__.__name__
        check.check_rank(
            name, "images", images_shape, 4, "(batch, height, width, channels)"
        )
        if images_shape[-1] is None:
            raise ValueError(
                f"{name} needs a known number of channels; received images "
                f"of shape {check.shape_str(images_shape)}."
            )
        grid = []
        for size, patch, default in zip(
            images_shape[1:3], self._patch_hw, self.grid_size, strict=True
        ):
            if size is None:
                grid.append(default)
                continue
            if size % patch:
                raise ValueError(
                    f"{name}: image height and width must be multiples of "
                    f"patch_size={self.patch_size!r}; received images of "
                    f"shape {check.shape_str(images_shape)}."
                )
            grid.append(size // patch)
        return tuple(grid)

    def build(self, images_shape):
        self._grid_for(images_shape)
        rows, cols = self.grid_size
        self.projection = keras.layers.Conv2D(
            self.hidden_dim,
            kernel_size=self._patch_hw,
            strides=self._patch_hw,
            padding="valid",
            kernel_initializer=self.kernel_initializer,
            dtype=self.dtype_policy,
            name="projection",
        )
        self.projection.build(tuple(images_shape))
        if self.use_class_token:
            self.class_token = self.add_weight(
                name="class_token",
                shape=(self.hidden_dim,),
                initializer=self.position_initializer,
            )
        self.position_embeddings = self.add_weight(
            name="position_embeddings",
            shape=(rows * cols + int(self.use_class_token), self.hidden_dim),
            initializer=self.position_initializer,
        )
        self.built = True

    def _positions(self, grid):
        """Position table for a patch grid, resized if the grid differs."""
        table = ops.convert_to_tensor(self.position_embeddings)  # (P[+1], D)
        if tuple(grid) == self.grid_size:
            return table
        offset = int(self.use_class_token)
        rows, cols = self.grid_size
        patches = ops.reshape(table[offset:], (1, rows, cols, self.hidden_dim))
        patches = ops.image.resize(
            patches,
            grid,
            interpolation=self.interpolation,
            data_format="channels_last",
        )  # (1, rows', cols', D)
        patches = ops.reshape(patches, (grid[0] * grid[1], self.hidden_dim))
        if offset:
            return ops.concatenate((table[:offset], patches), axis=0)
        return patches

    def call(self, images):
        grid = self._grid_for(images.shape)
        x = self.projection(images)  # (B, rows, cols, D)
        x = ops.reshape(x, (-1, grid[0] * grid[1], self.hidden_dim))
        if self.use_class_token:
            token = ops.cast(self.class_token, x.dtype)
            token = ops.broadcast_to(
                token[None, None, :], (ops.shape(x)[0], 1, self.hidden_dim)
            )
            x = ops.concatenate((token, x), axis=1)  # (B, 1 + P, D)
        positions = ops.cast(self._positions(grid), x.dtype)
        return x + positions[None]  # (B, [1 +] P, D)

    def compute_output_shape(self, images_shape):
        rows, cols = self._grid_for(images_shape)
        length = rows * cols + int(self.use_class_token)
        return (images_shape[0], length, self.hidden_dim)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "image_size": self.image_size,
                "patch_size": self.patch_size,
                "hidden_dim": self.hidden_dim,
                "use_class_token": self.use_class_token,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
                "position_initializer": keras.initializers.serialize(
                    self.position_initializer
                ),
                "interpolation": self.interpolation,
            }
        )
        return config
