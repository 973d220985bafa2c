"""Data sources: each produces :class:`~nbench.data.recording.Recording` objects (one per session)."""
