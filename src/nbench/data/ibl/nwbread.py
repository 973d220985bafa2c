"""Read an IBL Brain Wide Map NWB file (DANDI 000409) with h5py into a timeline :class:`Recording`.

Both generations of the conversion are read (reference: the layout notes gathered from the IBL-to-NWB converters):

- units: ``/units/spike_times`` (seconds, ragged by ``spike_times_index``), ``unit_name``; the Beryl region of a
  unit from ``units/beryl_location`` (2023 files) or through ``units/max_electrode`` and
  ``/general/localization/ElectrodesIBLBregma/beryl_location`` (2025/26 files); ``""`` when the histology gave
  none;
- trials: ``/intervals/trials`` under either generation's column names (:data:`TRIAL_COLUMNS`); the choice as
  -1 / 0 / +1 from the float column or from ``mouse_wheel_choice``'s strings (every encoding the converter used);
  the feedback type from ``feedback_type`` or ``is_mouse_rewarded``;
- whisker motion energy: ``{Left,Right}CameraMotionEnergy`` under ``/processing/behavior`` (2023) or
  ``/processing/motion_energy`` (2025/26), at the camera's own timestamps.

Spike times are kept as float milliseconds (IBL's times are finer than 1 ms); the trial table holds times in
seconds (columns ending ``_s``). External links are refused; every problem is one line naming the file.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from nbench.data.recording import BehaviorInfo, Recording, SpikeBlock, TimedSeries, TrialTable, UnitTable
from nbench.errors import DataError, ValidationError
from nbench.io import open_h5_checked

#: nbench trial column -> names in the 2023 and 2025/26 files.
TRIAL_COLUMNS = {
    "stim_on_s": ("stim_on_time", "gabor_stimulus_onset_time"),
    "first_movement_s": ("first_movement_time", "wheel_movement_onset_time"),
    "go_cue_s": ("go_cue_time", "auditory_cue_time"),
    "feedback_s": ("feedback_time",),
    "probability_left": ("probability_left",),
}
#: ``mouse_wheel_choice`` strings of each converter version, as IBL's choice (-1, 0, +1).
CHOICE_STRINGS = {"left": -1.0, "counter_clockwise": -1.0, "CCW": -1.0, "right": 1.0, "clockwise": 1.0, "CW": 1.0,
                  "no_go": 0.0, "no_response": 0.0, "none": 0.0}
CAMERAS = ("LeftCameraMotionEnergy", "RightCameraMotionEnergy")
ME_PARENTS = ("processing/motion_energy", "processing/behavior")
LOCALIZATION = "general/localization/ElectrodesIBLBregma"


def read_ibl(path: str | Path, session: str | None = None) -> Recording:
    """The recording of one IBL NWB file (see the module docstring); ``session`` names it (default: the eid)."""
    path = Path(path)
    try:
        h5 = open_h5_checked(path, "IBL NWB file")
    except ValidationError as exc:
        raise DataError(str(exc)) from None
    try:
        with h5:
            _refuse_external_links(h5, path)
            for key in ("units/spike_times", "units/spike_times_index", "intervals/trials"):
                if key not in h5:
                    raise DataError(f"{path}: not an IBL NWB file (no /{key})")
            name = session or _text(h5.get("general/session_id")).removesuffix("-processed-only") or path.stem
            block, ids, regions = _units(h5)
            trials = _trials(h5, path)
            series = {s.name: s for s in _motion_energy(h5)}
            subject = _text(h5.get("general/subject/subject_id"))
    except (OSError, KeyError, ValueError, TypeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{path}: unreadable IBL NWB file, perhaps truncated or damaged ({reason})") from None
    units = UnitTable(session=name, local_id=ids, region=regions)
    behavior = (BehaviorInfo("choice", "categorical"),) + (
        (BehaviorInfo("whisker", "continuous"),) if series else ())
    return Recording(name="ibl", units=units, trials=TrialTable(trials), spikes=(block,), series=series,
                     behavior=behavior, provenance={"file": str(path), "subject": subject, "session": name})


def _refuse_external_links(h5: h5py.File, path: Path) -> None:
    """NWB files link within themselves (soft links are normal); links to other files are refused."""
    external: list[str] = []
    h5.visititems_links(lambda name, link: external.append(name) if isinstance(link, h5py.ExternalLink) else None)
    if external:
        raise DataError(f"{path}: {external[0]!r} is an HDF5 external link; NWB files with external links are "
                        "refused")


def _units(h5: h5py.File) -> tuple[SpikeBlock, np.ndarray, np.ndarray]:
    units = h5["units"]
    times = np.asarray(units["spike_times"][()], dtype=np.float64)
    ends = np.asarray(units["spike_times_index"][()], dtype=np.int64)
    n = len(ends)
    ids = np.array([_text(v) for v in units["unit_name"][()]]) if "unit_name" in units else np.arange(n).astype(str)
    column = np.repeat(np.arange(n, dtype=np.int32), np.diff(np.concatenate([[0], ends])))
    order = np.argsort(times, kind="stable")
    block = SpikeBlock(ids, times[order] * 1000.0, column[order], None, name="all", rows=np.arange(n))
    return block, ids, _regions(h5, n)


def _regions(h5: h5py.File, n: int) -> np.ndarray:
    """Beryl label per unit: the units column (2023 files) or via max_electrode and the localization table."""
    units = h5["units"]
    if "beryl_location" in units:
        return np.array([_text(v) for v in units["beryl_location"][()]])
    if "max_electrode" in units and LOCALIZATION in h5:
        table = h5[LOCALIZATION]
        entity = np.asarray(table["localized_entity"][()], dtype=np.int64)
        beryl = np.array([_text(v) for v in table["beryl_location"][()]])
        label_of = dict(zip(entity.tolist(), beryl.tolist(), strict=True))
        return np.array([label_of.get(int(e), "") for e in units["max_electrode"][()]])
    return np.full(n, "")


def _trials(h5: h5py.File, path: Path) -> dict[str, np.ndarray]:
    group = h5["intervals/trials"]
    out: dict[str, np.ndarray] = {}
    for column, names in TRIAL_COLUMNS.items():
        found = next((n for n in names if n in group), None)
        if found is None:
            raise DataError(f"{path}: trials table has no {' or '.join(repr(n) for n in names)} column")
        out[column] = np.asarray(group[found][()], dtype=np.float64)
    out["choice"] = _choice(group, path)
    if "feedback_type" in group:
        out["feedback_type"] = np.asarray(group["feedback_type"][()], dtype=np.float64)
    elif "is_mouse_rewarded" in group:
        out["feedback_type"] = np.where(np.asarray(group["is_mouse_rewarded"][()], dtype=bool), 1.0, -1.0)
    else:
        raise DataError(f"{path}: trials table has no 'feedback_type' or 'is_mouse_rewarded' column")
    out["split"] = np.full(len(out["stim_on_s"]), "none")
    return out


def _choice(group: h5py.Group, path: Path) -> np.ndarray:
    if "choice" in group:
        return np.asarray(group["choice"][()], dtype=np.float64)
    if "mouse_wheel_choice" not in group:
        raise DataError(f"{path}: trials table has no 'choice' or 'mouse_wheel_choice' column")
    values = [_text(v) for v in group["mouse_wheel_choice"][()]]
    unknown = sorted({v for v in values if v not in CHOICE_STRINGS})
    if unknown:
        raise DataError(f"{path}: trials/mouse_wheel_choice has unknown values {unknown[:3]} (expected one of "
                        f"{sorted(CHOICE_STRINGS)})")
    return np.array([CHOICE_STRINGS[v] for v in values])


def _motion_energy(h5: h5py.File) -> list[TimedSeries]:
    """The whisker motion energy: the left camera's, else the right camera's (MtM's rule); none if absent."""
    for camera in CAMERAS:
        for parent in ME_PARENTS:
            key = f"{parent}/{camera}"
            if key in h5 and "data" in h5[key] and "timestamps" in h5[key]:
                values = np.asarray(h5[key]["data"][()], dtype=np.float64).reshape(len(h5[key]["data"]), -1)
                return [TimedSeries("whisker", np.asarray(h5[key]["timestamps"][()], dtype=np.float64), values)]
    return []


def _text(value: object) -> str:
    if value is None:
        return ""
    if hasattr(value, "shape") and hasattr(value, "dtype") and not isinstance(value, (bytes, str)):
        value = value[()] if getattr(value, "shape", ()) == () else value
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
