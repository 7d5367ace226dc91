"""edgekws: keyword spotting for Cortex-M microcontrollers.

TF_USE_LEGACY_KERAS must be set before TensorFlow is first imported so that
tensorflow-model-optimization (which only supports Keras 2) sees tf-keras.
Setting it here, in the package root, guarantees that for every entry point.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
