"""Model zoo recipes (models/recipes/*.yaml), Keras builders and the float training loop.

TensorFlow is imported lazily inside the functions, so importing this package is cheap.
"""

from edgekws.train.data import FeatureData, load_feature_data, synthetic_feature_data
from edgekws.train.recipe import LABELS, Recipe, available_recipes, load_recipe
from edgekws.train.trainer import TrainResult, train_model

__all__ = ["LABELS", "FeatureData", "Recipe", "TrainResult", "available_recipes", "load_feature_data",
           "load_recipe", "synthetic_feature_data", "train_model"]
