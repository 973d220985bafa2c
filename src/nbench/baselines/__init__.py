"""Reference baseline models. Importing this package registers the built-ins (lazily, by name)."""

from nbench.registry import register

register("models", "smoothing", "nbench.baselines.smoothing:SmoothingModel")
register("models", "ndt", "nbench.baselines.ndt:NDTModel")
