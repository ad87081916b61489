"""Helpers the model builders and weight loaders share."""

import json

import numpy as np


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
