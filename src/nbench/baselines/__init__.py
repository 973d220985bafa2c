"""Reference baseline models. Importing this package registers the built-ins (lazily, by name)."""

from nbench.registry import register

register("models", "mean_rate", "nbench.baselines.mean_rate:MeanRateModel",
         summary="each neuron's mean training rate (the trivial reference)")
register("models", "smoothing", "nbench.baselines.smoothing:SmoothingModel",
         summary="NLB spike smoothing + Poisson GLM readout to held-out neurons")
