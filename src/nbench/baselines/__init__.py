"""Reference baseline models behind one :class:`~nbench.baselines.base.Model` protocol.

The built-ins are registered by name in :mod:`nbench._builtins`; a model module is imported only when used.
"""
