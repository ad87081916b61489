"""Helpers the model builders and weight loaders share."""

import json

import keras
import numpy as np
from keras import ops


def resolve_config(kind, presets, defaults, required, preset, overrides):
    """Defaults, then the preset's sizes, then the caller's overrides.

    `required` keys must come from the preset or the overrides; the only
    accepted keys are those of `defaults` and `required`. Errors say what
    was expected and what was received.
    """
    config = dict(defaults)
    if preset is not None:
        if preset not in presets:
            raise ValueError(
                f"Unknown {kind} preset {preset!r}; expected one of "
                f"{sorted(presets)}."
            )
        config.update(presets[preset])
    known = set(defaults) | set(required)
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(
            f"Unknown {kind} configuration keys {unknown}; expected keys "
            f"from {sorted(known)}."
        )
    config.update(overrides)
    missing = [key for key in required if key not in config]
    if missing:
        raise ValueError(
            f"A {kind} configuration without a preset needs {missing}; "
            f"received {sorted(overrides)}."
        )
    return config


def read_json(path):
    """A JSON file's content; a ValueError naming the file if it is bad."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from None


def assign(variable, value, source):
    """Copies `value` into `variable`, naming both on a shape mismatch."""
    value = np.asarray(value)
    if tuple(variable.shape) != value.shape:
        raise ValueError(
            f"Tensor {source} has shape {value.shape}; {variable.path} "
            f"expects {tuple(variable.shape)}."
        )
    variable.assign(value)


def copy_layer(target, source):
    """Copies every weight of keras layer `source` into `target`, in order."""
    targets, sources = target.weights, source.weights
    if len(targets) != len(sources):
        raise ValueError(
            f"{source.name} has {len(sources)} weights and {target.name} "
            f"has {len(targets)}; cannot copy one into the other."
        )
    for variable, weight in zip(targets, sources, strict=True):
        assign(variable, weight.numpy(), weight.path)


def resolve_target_vocabulary(config):
    """Fills a translator configuration's `target_vocabulary_size` (None:
    the source's) and checks that shared embeddings have one vocabulary."""
    if config["target_vocabulary_size"] is None:
        config["target_vocabulary_size"] = config["vocabulary_size"]
    if (
        config["share_embeddings"]
        and config["target_vocabulary_size"] != config["vocabulary_size"]
    ):
        raise ValueError(
            "`share_embeddings=True` needs one vocabulary for both "
            "languages; received vocabulary_size="
            f"{config['vocabulary_size']} and target_vocabulary_size="
            f"{config['target_vocabulary_size']}."
        )
    return config


class ConfiguredTranslator:
    """What the translator models (Transformer, RNN) share: the layers and
    the configuration keys as attributes, and the configuration as the
    Keras config (with the layers' dtype policy).

    A mixin before `keras.Model`; the model's `__init__` builds the graph,
    then calls `_keep(roles, config)`, and `source_table` is a role.
    """

    def _keep(self, roles, config):
        # After the graph, so that `weights` keep the graph's order.
        for role, value in roles.items():
            setattr(self, role, value)
        self.translator_config = config
        for key, value in config.items():
            setattr(self, key, value)

    def get_config(self):
        # The layers' policy: Keras's functional model keeps its own at the
        # global one, while every layer here took `dtype` (or the global
        # policy of the time it was built).
        policy = self.source_table.dtype_policy
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.dtype_policies.serialize(policy),
            **self.translator_config,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = keras.dtype_policies.deserialize(config["dtype"])
        return cls(**config)


class TranslatorPartsBase:
    """What the translators' parts share; a subclass sets `_ROLES`, the
    names of its roles, and has `encode`, `decode`, `model` and
    `vocabulary_size`."""

    _ROLES = ()

    @classmethod
    def from_layers(cls, model=None, **roles):
        """Parts from layers given by role (see `ROLES`); the builder's
        way in, before the model exists."""
        parts = cls.__new__(cls)
        parts._assign(roles, model)
        return parts

    def roles(self):
        """`{role: layer}`."""
        return {role: getattr(self, role) for role in self._ROLES}

    def full_logits(self, source_ids, target_ids, index, call=None):
        """Logits `(B, V)` at `index` from a whole pass (no cache or state
        carried between calls).

        Without `call`, the model itself runs (the reference the cached
        step is tested against); with one, `encode` and `decode` do.
        """
        if call is None and self.model is not None:
            logits = self.model(
                {
                    "encoder_token_ids": source_ids,
                    "decoder_token_ids": target_ids,
                },
                training=False,
            )  # (B, T, V)
        else:
            encoded, source_mask = self.encode(source_ids, call=call)
            logits = self.decode(target_ids, encoded, source_mask, call=call)
        batch = ops.shape(logits)[0]
        step = ops.slice(
            logits, (0, index, 0), (batch, 1, self.vocabulary_size)
        )
        return step[:, 0, :]
