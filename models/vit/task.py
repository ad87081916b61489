"""The ViT image classifier as a task: backbone, image preprocessor and
head in one model that fits and predicts on pixels (keras-hub's `Task`
shape)."""

import keras
import keras_hub

from keras_attn.models._task import ClassifierTask
from keras_attn.models._task import check_class_names
from keras_attn.models.vit.backbone import vit_backbone
from keras_attn.models.vit.classifier import classifier_logits
from keras_attn.models.vit.presets import vit_config


def image_preprocessor(image_size, scale=1 / 255, offset=None):
    """keras-hub's `ImageClassifierPreprocessor` for a ViT: images resized
    to `image_size` (bilinear; an image of that size is left as it is),
    then `pixels * scale + offset`.

    Args:
        image_size: int or `(height, width)`.
        scale: float or one per channel. Defaults to 1 / 255: pixels
            0..255 become 0..1, as `keras_attn.data`'s loaders give them.
        offset: None, a float or one per channel.

    Returns:
        keras_hub.models.ImageClassifierPreprocessor.

    Example:

    >>> import numpy as np
    >>> pre = image_preprocessor(2)
    >>> np.asarray(pre(np.full((1, 4, 4, 1), 255, "uint8")))[0, :, :, 0]
    array([[1., 1.],
           [1., 1.]], dtype=float32)
    """
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    converter = keras_hub.layers.ImageConverter(
        image_size=tuple(image_size), scale=scale, offset=offset
    )
    return keras_hub.models.ImageClassifierPreprocessor(
        image_converter=converter
    )


@keras.saving.register_keras_serializable(package="keras_attn")
class ImageClassifier(ClassifierTask, keras_hub.models.ImageClassifier):
    """A Vision Transformer classifier that fits and predicts on pixels.

    keras-hub's task shape: a backbone (`vit_backbone`), a preprocessor
    (keras-hub's `ImageClassifierPreprocessor`: resize, then scale pixels
    0..255 to 0..1 by default) and the head of `vit_classifier`, in one
    functional model. `fit`, `predict` and `evaluate` take images
    `(batch, height, width, channels)` of pixel values as image files hold
    them; labels are class ids, or class names when the task has them.
    The class names and the preprocessing are saved inside the `.keras`
    file. Outputs are logits; `classify` gives names and probabilities.

    Args:
        backbone: a model from `vit_backbone`.
        num_classes: int, or None when `class_names` is given.
        preprocessor: a keras-hub `ImageClassifierPreprocessor`, or None
            (the task then takes the backbone's inputs as they are).
        class_names: optional list of str, one per output, in order.
        **kwargs: `name`, `compile` and the rest of keras-hub's `Task`.

    Example:

    >>> import numpy as np
    >>> classifier = ImageClassifier.from_preset(
    ...     "vit_digits", class_names=[str(d) for d in range(10)])
    >>> pixels = np.zeros((2, 8, 8, 1), "uint8")  # two black 8x8 images
    >>> classifier.predict(pixels, verbose=0).shape
    (2, 10)
    """

    def __init__(
        self,
        backbone,
        num_classes=None,
        preprocessor=None,
        class_names=None,
        **kwargs,
    ):
        class_names, num_classes = check_class_names(class_names, num_classes)
        if num_classes < 1:
            raise ValueError(
                f"`num_classes` must be a positive int; received {num_classes}."
            )
        self.backbone = backbone
        self.preprocessor = preprocessor
        logits = classifier_logits(backbone, num_classes)  # (B, C)
        kwargs.setdefault("name", "vit_classifier")
        # keras-hub's `ImageClassifier.__init__` builds its own head; the
        # functional model is made by `Task`'s, as keras-hub's subclasses
        # of it do.
        keras_hub.models.Task.__init__(
            self, inputs=backbone.input, outputs=logits, **kwargs
        )
        self.num_classes = num_classes
        self.class_names = class_names

    def get_config(self):
        # backbone, preprocessor, name (not ImageClassifier's head keys)
        config = keras_hub.models.Task.get_config(self)
        config.update(
            num_classes=self.num_classes, class_names=self.class_names
        )
        return config

    @classmethod
    def from_preset(
        cls,
        preset,
        num_classes=None,
        class_names=None,
        scale=1 / 255,
        offset=None,
        **overrides,
    ):
        """A new classifier from a key of `VIT_PRESETS` (random weights;
        nothing is downloaded) and `vit_config` overrides such as
        `image_size` or `channels`; `scale` and `offset` as in
        `image_preprocessor`."""
        config = vit_config(preset, **overrides)
        return cls(
            vit_backbone(**config),
            num_classes,
            preprocessor=image_preprocessor(
                config["image_size"], scale, offset
            ),
            class_names=class_names,
        )

    @classmethod
    def from_network(cls, model, preprocessor=None, class_names=None):
        """The task over a `vit_classifier` model, sharing its weights
        (how a `keras-attn train vit` run folder loads)."""
        task = cls(
            model.get_layer("vit_backbone"),
            model.output_shape[-1],
            preprocessor=preprocessor,
            class_names=class_names,
            name=model.name,
        )
        task.get_layer("logits").set_weights(
            model.get_layer("logits").get_weights()
        )
        return task
