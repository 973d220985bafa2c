"""Scoring: predictions plus hidden targets -> the task's declared metrics; submission files -> records.

- :mod:`~nbench.scoring.view`: one view's metrics (rates), :mod:`~nbench.scoring.behavior` its behaviour metrics;
- :mod:`~nbench.scoring.task`: a task's views pooled per session and averaged over sessions, with the breakdown;
- :mod:`~nbench.scoring.nlb`: several NLB groups as ``nlb_tools.evaluate`` scores them;
- :mod:`~nbench.scoring.files`: a submission file validated and scored into records (``nbench score``).
"""

from nbench.scoring.nlb import nlb_result_list, ordered_groups, score, score_group
from nbench.scoring.task import ScoredView, TaskScore, reference_metrics, score_views

__all__ = ["ScoredView", "TaskScore", "nlb_result_list", "ordered_groups", "reference_metrics", "score",
           "score_group", "score_views"]
