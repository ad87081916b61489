"""The applications: the quick-start demo and the training jobs.

Floor 5, the top: these modules may import any part of keras_attn (data,
training, models, export), and nothing of the library imports them.

- `demo`: `keras-attn demo` (a digits ViT from training to LiteRT);
- `jobs`: the three `keras-attn train` jobs.

Both were top-level modules before issue 18; `keras_attn.demo` and
`keras_attn.tasks` stay for old imports.
"""
