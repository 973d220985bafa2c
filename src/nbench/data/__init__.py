"""Data sources that produce :class:`~nbench.data.container.SpikeData`."""
