"""``survey.score``: CSAT, NPS and the mean score from a table of survey responses.

* CSAT: the share (%) of valid responses at or above ``satisfied_at_least``
  (default 4 on the 1-5 scale, 9 on 0-10);
* NPS (0-10 scale only): % promoters (9-10) minus % detractors (0-6), from -100 to 100;
* the mean score and the response count; answers outside the scale or not numbers
  are counted as ``invalid`` and left out of every figure.

The table: a file (CSV/Parquet, or a folder and ``table``) or a named connection
and ``table``; ``where`` filters rows first (e.g. this month's responses).
"""

from __future__ import annotations

from typing import Literal, TypedDict

from pdcaflow.tasks.sdk.registry import ConnectionName, InputFile, StepContext, task
from pdcaflow.tasks.data.table_aggregate import Filter, filter_rows

SCALES = {"1-5": (1, 5), "0-10": (0, 10)}


class SurveyOutputs(TypedDict):
    responses: int
    invalid: int
    mean_score: float | None
    csat_pct: float | None
    nps: float | None
    promoters_pct: float | None
    detractors_pct: float | None


@task("survey.score")
def score(context: StepContext, *, file: InputFile | None = None, connection: ConnectionName | None = None,
          table: str | None = None, column: str = "score", scale: Literal["1-5", "0-10"] = "1-5",
          satisfied_at_least: float | None = None, where: list[Filter] | None = None) -> SurveyOutputs:
    """Score survey responses: CSAT %, NPS (0-10 scale), mean score and response count.

    ``file`` (or ``connection`` with ``table``) holds one response per row, the score
    in ``column``. ``scale`` is ``1-5`` (CSAT = % of 4-5 by default) or ``0-10`` (NPS =
    % 9-10 minus % 0-6; CSAT = % of 9-10 by default); ``satisfied_at_least`` changes the
    CSAT threshold. ``where`` filters rows first. Scores outside the scale are ``invalid``.
    Figures are ``None`` when there is no valid response.
    """
    import pandas as pd  # pandas only when the task runs (start-up speed of `pdca validate`)

    from pdcaflow.tasks.sdk.sources import read_table  # start-up speed: only when the task runs

    if (file is None) == (connection is None):
        raise ValueError("survey.score needs either `file` or `connection` with `table`")
    source = file if file is not None else context.project_config().connection_url(str(connection))
    frame = filter_rows(read_table(source, table, columns=[column]), where or [])
    low, high = SCALES[scale]
    numbers = pd.to_numeric(frame[column], errors="coerce")
    valid = numbers[(numbers >= low) & (numbers <= high)]
    invalid = int(len(numbers) - len(valid))
    count = int(len(valid))
    if count == 0:
        return {"responses": 0, "invalid": invalid, "mean_score": None, "csat_pct": None, "nps": None,
                "promoters_pct": None, "detractors_pct": None}
    threshold = satisfied_at_least if satisfied_at_least is not None else (4 if scale == "1-5" else 9)
    outputs: SurveyOutputs = {
        "responses": count, "invalid": invalid, "mean_score": round(float(valid.mean()), 4),
        "csat_pct": round(100.0 * float((valid >= threshold).sum()) / count, 2),
        "nps": None, "promoters_pct": None, "detractors_pct": None,
    }
    if scale == "0-10":
        promoters = 100.0 * float((valid >= 9).sum()) / count
        detractors = 100.0 * float((valid <= 6).sum()) / count
        outputs.update({"promoters_pct": round(promoters, 2), "detractors_pct": round(detractors, 2),
                        "nps": round(promoters - detractors, 2)})
    return outputs
