"""Many runs: sweep files, a results folder shared by concurrent processes, serial and Ray executors.

* :mod:`~nbench.runs.sweepfile`: a sweep file -> its runs (grid or random sample).
* :mod:`~nbench.runs.sweep`: runs -> jobs (train, or score committed predictions) -> an executor.
* :mod:`~nbench.runs.execute`: the driver (skip stored keys, lock, store outcomes) and the serial executor.
* :mod:`~nbench.runs.ray_executor`: the Ray executor (imported only when asked for).
* :mod:`~nbench.runs.store`: one JSON file per key, one lock per key, recovery after killed processes.
* :mod:`~nbench.runs.progress`: done / running / failed / skipped and ETA lines.
"""
