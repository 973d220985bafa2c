"""The report page: one self-contained HTML file (inline SVG, no script, no external resources)."""

from __future__ import annotations

import json

import jinja2

from nbench.results import MetricValue, Record

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; padding: 0 1em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
td, th { padding: 2px 10px; border-bottom: 1px solid #ddd; text-align: right; }
td:first-child, th:first-child { text-align: left; }
.dim { color: #777; } figure { margin: 1.5em 0; } figcaption { color: #555; font-size: 13px; }
pre { background: #f6f8fa; padding: 0.6em; overflow-x: auto; font-size: 12px; }
</style></head><body>
<h1>{{ title }}</h1>
<p>{{ subtitle }}</p>
<table><tr><th>metric</th><th></th><th>value</th><th>95% CI</th></tr>
{% for row in rows %}<tr{% if row.ref %} class="dim"{% endif %}><td>{{ row.name }}</td><td>{{ row.arrow }}</td>
<td>{{ row.value }}</td><td>{{ row.ci }}</td></tr>
{% endfor %}</table>
{% for svg, caption in figures %}<figure>{{ svg | safe }}<figcaption>{{ caption }}</figcaption></figure>
{% endfor %}
{% for note in notes %}<p class="dim">{{ note }}</p>{% endfor %}
<h2>Provenance</h2>
<pre>{{ provenance }}</pre>
</body></html>
"""


def _row(name: str, value: MetricValue, ref: bool) -> dict[str, object]:
    ci = "" if value.ci95 is None else f"[{value.ci95[0]:.4f}, {value.ci95[1]:.4f}]"
    return {"name": name, "arrow": "ref" if ref else ("↑" if value.higher_is_better else "↓"),
            "value": "n/a" if value.value is None else f"{value.value:.4f}", "ci": ci, "ref": ref}


def render(record: Record, figures: list[tuple[str, str]], notes: list[str]) -> str:
    """The page of ``record`` with its figures (SVG text, caption) and notes."""
    task = record.task
    seed = "" if record.seed is None else f", seed {record.seed}"
    rows = [_row(n, v, False) for n, v in record.metrics.items()] + [_row(n, v, True)
                                                                     for n, v in record.reference.items()]
    provenance = {key: getattr(record, key) for key in ("run_id", "run_key", "created", "kind", "task", "dataset",
                                                        "model", "cost", "environment", "invocation")}
    env = jinja2.Environment(autoescape=True)
    return env.from_string(TEMPLATE).render(
        title=f"{task['name']} - {record.model.get('name')}{seed}",
        subtitle=f"{task.get('phase') or '?'} phase, task version {task.get('version')}, dataset "
                 f"{record.dataset.get('name')} {record.dataset.get('version') or ''}; run {record.run_id}",
        rows=rows, figures=figures, notes=notes, provenance=json.dumps(provenance, indent=2, default=str))
