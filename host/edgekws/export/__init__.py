"""Model bundle, TFLite graph reading, TFLite quantization arithmetic and C code generation.

Submodules are imported directly (``from edgekws.export.tflite_graph import read_graph``)
so that importing one does not pull in TensorFlow.
"""
