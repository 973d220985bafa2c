"""Reference baseline models. Importing this package registers the built-ins (lazily, by name)."""

from nbench.registry import register

register("models", "mean_rate", "nbench.baselines.mean_rate:MeanRateModel",
         summary="each neuron's mean training rate (the trivial reference)")
register("models", "smoothing", "nbench.baselines.smoothing:SmoothingModel",
         summary="NLB spike smoothing + Poisson GLM readout to held-out neurons")
register("models", "ndt", "nbench.baselines.ndt:NDTModel",
         summary="Neural Data Transformer: masked modelling of binned spikes (Ye & Pandarinath 2021)")
register("models", "gpfa", "nbench.baselines.gpfa:GPFAModel",
         summary="NLB GPFA: elephant GPFA latents, ridge to held-in, Poisson GLM to held-out neurons")
