"""Quarters as the water data writes them (``2026-Q3``): the SDK's period arithmetic.

The arithmetic lives in :mod:`pdcaflow.tasks.sdk.periods`; the world's modules
import these names from here. A quarter is text in the tables and an integer
*index* inside the world (``year * 4 + quarter - 1``), so that consecutive
quarters are consecutive numbers.
"""

from __future__ import annotations

from pdcaflow.tasks.sdk.periods import (add_quarters, quarter_days, quarter_for, quarter_index, quarter_of,
                                        quarter_start, quarter_text)

__all__ = ["add_quarters", "quarter_days", "quarter_for", "quarter_index", "quarter_of", "quarter_start",
           "quarter_text"]
