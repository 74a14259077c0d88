"""Period arithmetic of the task SDK: quarters YYYY-Qn and months YYYY-MM, checked by hand."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from pdcaflow.tasks.sdk.periods import (add_periods, add_quarters, check_month, check_period, check_quarter,
                                        is_month, is_quarter, month_of, next_period, next_quarter, period_bounds,
                                        period_end, period_start, quarter_days, quarter_end, quarter_for,
                                        quarter_index, quarter_of, quarter_start, quarter_text)


def test_a_quarter_covers_its_three_months() -> None:
    # Q3 is July, August, September: from 1 July to 1 October.
    assert quarter_start("2026-Q3") == datetime(2026, 7, 1)
    assert quarter_end("2026-Q3") == datetime(2026, 10, 1)
    # Q1 starts on 1 January, Q4 ends when the next year starts.
    assert period_bounds("2026-Q1") == (datetime(2026, 1, 1), datetime(2026, 4, 1))
    assert period_bounds("2026-Q4") == (datetime(2026, 10, 1), datetime(2027, 1, 1))
    assert period_start("2026-Q2") == datetime(2026, 4, 1)
    assert period_end("2026-Q2") == datetime(2026, 7, 1)


def test_days_in_a_quarter() -> None:
    assert quarter_days("2026-Q1") == 90   # 31 + 28 + 31 (2026 is no leap year)
    assert quarter_days("2028-Q1") == 91   # 31 + 29 + 31 (2028 is)
    assert quarter_days("2026-Q2") == 91   # 30 + 31 + 30
    assert quarter_days("2026-Q3") == 92   # 31 + 31 + 30
    assert quarter_days("2026-Q4") == 92   # 31 + 30 + 31


def test_quarters_as_consecutive_numbers() -> None:
    assert quarter_index("2026-Q3") == 8106  # 2026 * 4 + 3 - 1
    assert quarter_text(8106) == "2026-Q3"
    assert quarter_text(8107) == "2026-Q4"
    assert quarter_text(8108) == "2027-Q1"  # 2027 * 4 + 0


def test_the_quarter_after_wraps_the_year() -> None:
    assert next_quarter("2026-Q4") == "2027-Q1"
    assert next_quarter("2026-Q1") == "2026-Q2"
    assert add_quarters("2026-Q3", 6) == "2028-Q1"   # Q4, 27Q1, Q2, Q3, Q4, 28Q1
    assert add_quarters("2026-Q1", -1) == "2025-Q4"
    assert add_quarters("2026-Q2", 0) == "2026-Q2"


def test_the_month_after_wraps_the_year() -> None:
    assert next_period("2026-12") == "2027-01"
    assert next_period("2026-07") == "2026-08"
    assert add_periods("2026-11", 14) == "2028-01"  # 2026 * 12 + 10 + 14 = 2028 * 12 + 0
    assert add_periods("2026-01", -1) == "2025-12"
    assert add_periods("2026-10", 3) == "2027-01"


def test_a_month_covers_its_days() -> None:
    assert period_bounds("2026-02") == (datetime(2026, 2, 1), datetime(2026, 3, 1))
    assert period_bounds("2026-12") == (datetime(2026, 12, 1), datetime(2027, 1, 1))
    assert period_start("2026-07") == datetime(2026, 7, 1)
    assert period_end("2026-07") == datetime(2026, 8, 1)


def test_the_next_period_keeps_its_kind() -> None:
    assert next_period("2026-Q4") == "2027-Q1"
    assert add_periods("2026-Q2", 3) == "2027-Q1"
    assert add_periods("2026-Q2", -2) == "2025-Q4"


def test_the_period_a_moment_falls_in() -> None:
    # Midnight of 1 October opens Q4; a minute before midnight of 30 September is still Q3.
    assert quarter_of(datetime(2026, 10, 1, 0, 0)) == "2026-Q4"
    assert quarter_of(datetime(2026, 9, 30, 23, 59)) == "2026-Q3"
    assert quarter_of(date(2026, 1, 1)) == "2026-Q1"
    assert quarter_of(date(2026, 12, 31)) == "2026-Q4"
    assert month_of(datetime(2026, 12, 31, 23, 59)) == "2026-12"
    assert month_of(date(2027, 1, 1)) == "2027-01"


def test_the_quarter_of_a_period() -> None:
    assert quarter_for("2026-Q3") == "2026-Q3"
    assert quarter_for("2026-07") == "2026-Q3"
    assert quarter_for("2026-06") == "2026-Q2"
    assert quarter_for("2026-12") == "2026-Q4"


@pytest.mark.parametrize("text", ["2026-Q5", "2026-Q0", "2026-Q03", "Q2-2026", "2026-07", "26-Q1", "2026Q1",
                                  " 2026-Q1", "2026-Q1 ", "2026-Q1\n", "2026-q1", ""])
def test_not_a_quarter(text: str) -> None:
    assert not is_quarter(text)
    with pytest.raises(ValueError) as raised:
        check_quarter(text)
    assert str(raised.value) == f"period {text!r} is not a quarter written YYYY-Qn (e.g. 2026-Q3)"
    with pytest.raises(ValueError, match="is not a quarter written YYYY-Qn"):
        quarter_start(text)


def test_the_message_names_the_value_checked() -> None:
    with pytest.raises(ValueError) as raised:
        check_quarter("2026-Q5", "plan.csv: period")
    assert str(raised.value) == "plan.csv: period '2026-Q5' is not a quarter written YYYY-Qn (e.g. 2026-Q3)"
    with pytest.raises(ValueError) as raised:
        check_month("2026-13")
    assert str(raised.value) == "period '2026-13' is not a month written YYYY-MM (e.g. 2026-07)"


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026-7", "2026-Q5", "March", "2026-07-01"])
def test_neither_a_quarter_nor_a_month(text: str) -> None:
    assert not (is_quarter(text) or is_month(text))
    with pytest.raises(ValueError) as raised:
        check_period(text)
    assert str(raised.value) == (f"period {text!r} is neither a quarter (YYYY-Qn, e.g. 2026-Q3) "
                                 "nor a month (YYYY-MM, e.g. 2026-07)")
    for arithmetic in (period_bounds, next_period, period_start, quarter_for):
        with pytest.raises(ValueError, match="is neither a quarter"):
            arithmetic(text)


def test_good_periods_come_back_as_written() -> None:
    assert check_quarter("2026-Q3") == "2026-Q3"
    assert check_month("2026-07") == "2026-07"
    assert check_period("2026-Q3") == "2026-Q3"
    assert check_period("2026-07") == "2026-07"
    assert is_month("2026-12") and not is_month("2026-Q4")
