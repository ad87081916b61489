"""`python -m keras_attn.cli ...` runs the `keras-attn` command line."""

import sys

from keras_attn.cli import main

sys.exit(main())
