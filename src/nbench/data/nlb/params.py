"""Per-dataset NLB'21 parameters: the facts of ``nlb_tools.make_tensors.PARAMS`` as plain data.

Windows are in ms relative to a trial-table field. Field names follow nlb_tools' trial table (``end_time`` is
the NWB ``stop_time``). Where a dataset's file and dandiset live is in :mod:`nbench.data.dandisets`.
"""

from __future__ import annotations

from dataclasses import dataclass

from nbench.data.nlb.catalog import NLB_BIN_SIZES, NLB_NAMES, nlb_group_name

FORWARD_MS = 200
DMFC_BEHAVIOR_FIELDS = ("is_eye", "theta", "is_short", "ts", "tp")


@dataclass(frozen=True)
class Window:
    """Arguments of ``NWBDataset.make_trial_data`` that NLB uses.

    Attributes
    ----------
    align
        Trial field the window is aligned to, or None (then ``start_field`` to ``end_field``).
    start, end
        Window offsets in ms from ``align``; None means "from ``start_field``" / "to ``end_field``".
    start_field, end_field
        Trial fields that bound the window when an offset is None.
    allow_overlap
        False truncates a window at the start of the next included trial (nlb_tools' rule).
    """

    align: str | None
    start: float | None = None
    end: float | None = None
    start_field: str = "start_time"
    end_field: str = "end_time"
    allow_overlap: bool = False

    def shifted(self, lag_ms: float) -> Window:
        """The window moved by ``lag_ms`` (behavior windows); ``(None, None)`` becomes ``(lag, lag)``."""
        if self.start is None or self.end is None:
            return Window(self.align, lag_ms, lag_ms, self.start_field, self.end_field, self.allow_overlap)
        return Window(self.align, self.start + lag_ms, self.end + lag_ms, self.start_field, self.end_field,
                      self.allow_overlap)

    def realigned(self, align: str) -> Window:
        """The same window aligned to another field (the jittered alignment of DMFC)."""
        return Window(align, self.start, self.end, self.start_field, self.end_field, self.allow_overlap)


@dataclass(frozen=True)
class PSTHSpec:
    """How the true PSTHs are made (``_make_psth``): conditions, window, smoothing kernel and padding."""

    cond_fields: tuple[str, ...]
    window: Window
    kern_sd_ms: int
    pad: str = "back"
    seg_len_ms: int | None = None
    skip_outliers: bool = False


@dataclass(frozen=True)
class NLBParams:
    """Everything nbench needs to build one NLB dataset's tensors and targets.

    Attributes
    ----------
    name
        NLB dataset name (``"mc_maze"``).
    window, eval_window
        Train-input window (``make_params``) and target window (``eval_make_params``).
    behavior_field
        Continuous behavior series (``"hand_vel"``) or None when behavior comes from the trial table.
    lag_ms
        Behavior lag in ms (behavior at t + lag is paired with spikes at t); None for trial-table behavior.
    psth
        PSTH construction, or None (MC_RTT).
    decode_mask_field
        Trial field whose values 0 / 1 split decoding into two decoders (Area2_Bump), or None.
    dmfc
        DMFC rules: jittered go alignment, jagged front-padded targets, trial-table behavior, outliers.
    eval_seg_len_ms
        Length of the jagged target window (DMFC), or None.
    """

    name: str
    window: Window
    eval_window: Window
    behavior_field: str | None
    lag_ms: int | None
    psth: PSTHSpec | None
    decode_mask_field: str | None = None
    dmfc: bool = False
    eval_seg_len_ms: int | None = None

    @property
    def behavior_names(self) -> tuple[str, ...]:
        return DMFC_BEHAVIOR_FIELDS if self.dmfc else ()


def _maze(name: str, lag: int, kern_sd: int) -> NLBParams:
    window = Window("move_onset_time", -250, 450)
    psth = PSTHSpec(("trial_type", "trial_version"), window, kern_sd)
    return NLBParams(name, window, window, "hand_vel", lag, psth)


_AREA2_WINDOW = Window("move_onset_time", -100, 500)
_DMFC_TARGET_WINDOW = Window("go_time", None, None, start_field="set_time", end_field="go_time")

PARAMS: dict[str, NLBParams] = {p.name: p for p in (
    _maze("mc_maze", 100, 70),
    NLBParams("mc_rtt", Window("start_time", 0, 600, allow_overlap=True),
              Window("start_time", 0, 600, allow_overlap=True), "finger_vel", 140, None),
    NLBParams("area2_bump", _AREA2_WINDOW,
              Window("move_onset_time", -100, 500, allow_overlap=True), "hand_vel", -20,
              PSTHSpec(("cond_dir", "ctr_hold_bump"), _AREA2_WINDOW, 40),
              decode_mask_field="ctr_hold_bump"),
    NLBParams("dmfc_rsg", Window("go_time", -1500, 0, allow_overlap=True), _DMFC_TARGET_WINDOW, None, None,
              PSTHSpec(("is_eye", "theta", "is_short", "ts"), _DMFC_TARGET_WINDOW, 70, pad="front",
                       seg_len_ms=1500, skip_outliers=True),
              dmfc=True, eval_seg_len_ms=1500),
    _maze("mc_maze_large", 120, 50),
    _maze("mc_maze_medium", 120, 50),
    _maze("mc_maze_small", 120, 50),
)}


if tuple(PARAMS) != NLB_NAMES:  # the NLB table is the one list of datasets
    raise ImportError(f"NLB params {list(PARAMS)} do not match the NLB table {list(NLB_NAMES)}")

BIN_SIZES = NLB_BIN_SIZES
group_name = nlb_group_name
