"""Re-running a functional model's graph with some layers called another
way (private).

`attention_model` asks attention layers for their probabilities on the
way; `keras_attn.export` calls layers in the forms a `.tflite` target
runs well, and collects what calibration observes. Both are the same
walk: every node of the graph (and of every functional sub-model inside
it) calls its layer again with the arguments it was called with, except
that a layer with a *handler* is called through it. A handler is

    handler(layer, args, kwargs) -> (outputs, {name: tensor})

where `outputs` is what the layer returns in the original graph and the
dict holds extra tensors to collect (scores, observed values), which come
out of the new model beside its outputs. The new model calls the same
layer objects, so it shares every weight.
"""

import keras

from keras_attn import _compat


class Substituted(keras.layers.Layer):
    """Calls `layer` through `handler`; returns `(outputs, extras)`.

    Keras's functional graph counts a layer's outputs from its first call,
    so a layer first called one way cannot get a node that returns more or
    computes otherwise. This thin layer is that node instead: it owns no
    weights of its own and calls the original layer (whose variables it
    tracks), in the layer's dtype policy, so inputs are cast as the layer
    casts them, and with the layer's implicit-mask rule.
    """

    def __init__(self, layer, handler, name_suffix):
        is_layer = isinstance(layer, keras.layers.Layer)
        super().__init__(
            name=f"{layer.name}_{name_suffix}",
            # An operation node (`x[:, 0]`, `ops.cast`) has no policy and
            # casts nothing.
            dtype=layer.dtype_policy if is_layer else None,
            autocast=is_layer,
        )
        self.layer = layer
        self.handler = handler
        self.supports_masking = is_layer and layer.supports_masking
        self._layer_has_training = is_layer and _compat.call_has_training_arg(
            layer
        )
        self.built = True

    def call(self, *args, training=None, _trailing=(), **kwargs):
        if training is not None and self._layer_has_training:
            kwargs["training"] = training
        return self.handler(self.layer, args + tuple(_trailing), kwargs)

    def compute_mask(self, inputs, previous_mask=None):
        if not self.supports_masking:
            return None
        return self.layer.compute_mask(inputs, previous_mask)


def _unpack_singleton(x):
    if isinstance(x, (list, tuple)) and len(x) == 1:
        return x[0]
    return x


def new_key(name, extras):
    """`name`, or `name/call_<k>` when that name was collected before."""
    if name not in extras:
        return name
    count = 1
    while f"{name}/call_{count}" in extras:
        count += 1
    return f"{name}/call_{count}"


class Rerun:
    """Re-traces functional graphs, calling layers through handlers.

    Args:
        handler_for: `handler_for(layer)` returns a handler (module doc)
            for layers to call another way, or None to call `layer` as
            it is.
        name_suffix: suffix of the wrapper layers' names.
    """

    def __init__(self, handler_for, name_suffix="substituted"):
        self.handler_for = handler_for
        self.name_suffix = name_suffix
        self.wrappers = {}  # id(layer) -> Substituted
        self.nested = {}  # id(functional sub-model) -> (model, names)

    def model(self, model, name):
        """`keras.Model(model.input, {"outputs": ..., "extras": {...}})`,
        with `extra_names` (the extras in the order they were collected);
        `None` when no handler collected anything and none substituted
        anything."""
        extras = {}
        outputs, substituted = self.trace(model, model.inputs, extras)
        if not substituted:
            return None
        result = keras.Model(
            model.input, {"outputs": outputs, "extras": extras}, name=name
        )
        # Keras may reorder dict entries; the run order is kept here.
        result.extra_names = tuple(extras)
        return result

    def trace(self, model, inputs, extras):
        """Re-runs `model`'s graph on its flat list of symbolic `inputs`,
        filling `extras`; returns `(outputs, whether anything was
        substituted)`."""
        substituted = []

        def operation_fn(operation):
            handler = self.handler_for(operation)
            if handler is not None:
                substituted.append(operation)
                return self._call_through(operation, handler, extras)
            if _compat.is_functional(operation):
                nested = self._nested(operation)
                if nested is not None:
                    substituted.append(operation)
                    return self._nested_call(nested, extras)
            return operation

        outputs = _compat.run_through_graph(model, inputs, operation_fn)
        return _unpack_singleton(outputs), bool(substituted)

    def _call_through(self, layer, handler, extras):
        if id(layer) not in self.wrappers:
            self.wrappers[id(layer)] = Substituted(
                layer, handler, self.name_suffix
            )
        wrapper = self.wrappers[id(layer)]

        def call(*args, **kwargs):
            # Keras layers take tensors alone as positional arguments; an
            # operation's others (the key of `x[key]`) travel by keyword.
            count = 0
            while count < len(args) and _is_tensor(args[count]):
                count += 1
            outputs, found = wrapper(
                *args[:count], _trailing=args[count:], **kwargs
            )
            _collect(found, extras)
            return outputs

        return call

    def _nested(self, model):
        """A functional sub-model re-traced on its own, or None when
        nothing inside it is substituted."""
        if id(model) not in self.nested:
            self.nested[id(model)] = self.model(
                model, f"{model.name}_{self.name_suffix}"
            )
        return self.nested[id(model)]

    def _nested_call(self, nested, extras):
        def call(*args, **kwargs):
            result = nested(*args, **kwargs)
            found = result["extras"]
            _collect({name: found[name] for name in nested.extra_names}, extras)
            return result["outputs"]

        return call


def _is_tensor(x):
    return keras.ops.is_tensor(x) or isinstance(x, keras.KerasTensor)


def _collect(found, extras):
    for name, value in found.items():
        extras[new_key(name, extras)] = value
