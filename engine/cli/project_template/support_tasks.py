"""This project's own task: the support team answers the month's requests.

It stands in for your real work. Replace it by a task that reads your own
system, or keep it and put your own requests in data/requests.csv.
"""

from __future__ import annotations

import csv
import heapq
from typing import TypedDict

import pdcaflow


class Answered(TypedDict):
    answered: str  # the CSV file of the month's answered requests
    month: int
    requests: int


@pdcaflow.task("support.answer_requests", phases=("do",))
def answer_requests(context: pdcaflow.StepContext, *,
                    requests: pdcaflow.InputFile, agents: int) -> Answered:
    """Answer a month's requests with `agents` people, first come first served.

    Cycle 1 takes the first month of `requests` (a CSV file with the columns
    month, request, received and work_hours), cycle 2 the next month, and so
    on, starting again after the last. A request waits until an agent is free,
    then takes its work_hours. Its hours_to_answer are the working hours from
    `received` (the working hour of the month it came in) to the answer. The
    answered requests go to a CSV file in the cycle's work folder.
    """
    with open(requests, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    months = sorted({int(row["month"]) for row in rows})
    month = months[(context.cycle - 1) % len(months)]
    incoming = [row for row in rows if int(row["month"]) == month]
    incoming.sort(key=lambda row: float(row["received"]))
    free_at = [0.0] * max(agents, 1)  # when each agent is free again
    answered = []
    for row in incoming:
        received = float(row["received"])
        done = max(received, heapq.heappop(free_at)) + float(row["work_hours"])
        heapq.heappush(free_at, done)
        answered.append({"request": row["request"],
                         "hours_to_answer": round(done - received, 1)})
    path = pdcaflow.output_path(context, "answered.csv")
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, ["request", "hours_to_answer"])
        writer.writeheader()
        writer.writerows(answered)
    return {"answered": path, "month": month, "requests": len(answered)}
