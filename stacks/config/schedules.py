"""EventBridge Scheduler's recurring schedule expressions: the grammar of `cron(...)` and `rate(...)`.

As the EventBridge Scheduler User Guide documents them, in "Schedule types on EventBridge
Scheduler" (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html):

- `rate(value unit)`: a positive whole number, and `minute`, `hour` or `day`; the unit is
  singular for 1 and plural otherwise (`rate(1 hour)`, `rate(5 hours)`).
- `cron(minutes hours day-of-month month day-of-week year)`, six fields separated by spaces:

  | field        | values          | wildcards       |
  | ------------ | --------------- | --------------- |
  | minutes      | 0-59            | `, - * /`       |
  | hours        | 0-23            | `, - * /`       |
  | day-of-month | 1-31            | `, - * ? / L W` |
  | month        | 1-12 or JAN-DEC | `, - * /`       |
  | day-of-week  | 1-7 or SUN-SAT  | `, - * ? L #`   |
  | year         | 1970-2199       | `, - * /`       |

  `,` lists values, `-` gives a range, `*` every value, `/` an increment (`0/15`: from 0,
  every 15), `?` any. Day-of-month and day-of-week are never both given: one of them is `?`.
  `L` is the last day of the month, or in day-of-week the last day of the week (`6L`: the
  month's last Friday); `3W` is the weekday nearest the 3rd; `3#2` is the month's second
  Tuesday. `L`, `W` and `#` make up their field alone: the EventBridge cron reference
  (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html), which
  Scheduler's table repeats, gives "3#1,6#3" as not valid.

What the documentation leaves open is refused rather than guessed: ranges run from low to
high, names are upper case, an increment is at most the field's span. So is an expression
that would never run: days that no chosen month has (`30 2`, February 30th), or only past years.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from stacks.config import aws_data

EXAMPLES = "cron(0 3 ? * MON *) or rate(12 hours)"


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    """Names of low, low + 1, ..., high."""
    increments: bool = True

    @property
    def span(self) -> int:
        return self.high - self.low + 1

    def values(self) -> str:
        names = f" or {self.names[0]}-{self.names[-1]}" if self.names else ""
        return f"{self.low}-{self.high}{names}"


MINUTES = _Field("minutes", 0, 59)
HOURS = _Field("hours", 0, 23)
DAY_OF_MONTH = _Field("day-of-month", 1, 31)
MONTH = _Field("month", 1, 12, tuple(name.upper() for name in calendar.month_abbr[1:]))
DAY_OF_WEEK = _Field("day-of-week", 1, 7, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), increments=False)
YEAR = _Field("year", 1970, 2199)
FIELDS = (MINUTES, HOURS, DAY_OF_MONTH, MONTH, DAY_OF_WEEK, YEAR)

RATE = re.compile(r"rate\(([0-9]+) ([a-z]+)\)")
RATE_UNITS = ("minute", "hour", "day")
LONGEST_MONTH = {month: calendar.monthrange(2024, month)[1] for month in range(1, 13)}
"""Days of each month in a leap year: February 29th does occur."""


class _CronError(Exception):
    """One thing wrong with a cron field; `schedule_problem` turns it into the message."""


def schedule_problem(expression: str) -> str | None:
    """What is wrong with a recurring schedule expression, or None if EventBridge Scheduler takes it."""
    limit = aws_data.max_schedule_expression_length()
    if len(expression) > limit:
        return f"is {len(expression)} characters; EventBridge Scheduler takes at most {limit}"
    if expression.startswith("rate("):
        return _rate_problem(expression)
    if expression.startswith("cron(") and expression.endswith(")"):
        try:
            _check_cron(expression[len("cron(") : -1])
        except _CronError as error:
            return f"{error}; for example {EXAMPLES}"
        return None
    if expression.startswith("at("):
        return f"at(...) runs once; this schedule recurs: give {EXAMPLES}"
    return (
        f"must be cron(minutes hours day-of-month month day-of-week year) or rate(value unit), for example {EXAMPLES}"
    )


def _rate_problem(expression: str) -> str | None:
    match = RATE.fullmatch(expression)
    if match is None:
        return "a rate is rate(value unit) with a whole number and minute(s), hour(s) or day(s), e.g. rate(12 hours)"
    value, unit = int(match[1]), match[2]
    if unit.removesuffix("s") not in RATE_UNITS:
        return f"unit '{unit}' is not one of minute(s), hour(s), day(s)"
    if value < 1:
        return "the value of a rate is at least 1"
    expected = unit.removesuffix("s") + ("" if value == 1 else "s")
    if unit != expected:
        return f"write rate({value} {expected}): the unit is singular for 1 and plural otherwise"
    return None


def _check_cron(fields_text: str) -> None:
    fields = fields_text.split(" ")
    if len(fields) != len(FIELDS) or "" in fields:
        raise _CronError(
            "a cron expression has six fields separated by single spaces: "
            "minutes hours day-of-month month day-of-week year"
        )
    minutes, hours, day_of_month, month, day_of_week, year = fields
    _values(MINUTES, minutes)
    _values(HOURS, hours)
    months = _values(MONTH, month)
    years = _values(YEAR, year)
    if day_of_month == day_of_week == "?":
        raise _CronError("day-of-month and day-of-week are both ?: give the days in one of them")
    if "?" not in (day_of_month, day_of_week):
        raise _CronError(
            f"day-of-month '{day_of_month}' and day-of-week '{day_of_week}' are both given: one of them must be ? "
            "(a schedule runs on days of the month or on days of the week, not both)"
        )
    if day_of_week == "?":
        days = _days_of_month(day_of_month)
        if days and all(day > LONGEST_MONTH[month] for day in days for month in months):
            raise _CronError(f"day-of-month '{day_of_month}' never occurs in month '{month}': it would never run")
    else:
        _days_of_week(day_of_week)
    if max(years) < datetime.now(UTC).year:
        raise _CronError(f"year '{year}' is past: it would never run")


def _days_of_month(text: str) -> set[int]:
    """The days a day-of-month field names; none for `L` (the last day, which every month has)."""
    if text == "L":
        return set()
    weekday = re.fullmatch(r"([0-9]+)W", text)
    if weekday is not None:
        return {_value(DAY_OF_MONTH, weekday[1])}
    if "L" in text or "W" in text:
        raise _CronError(f"day-of-month '{text}': L and W stand alone (L, or a day and W as in 15W)")
    return _values(DAY_OF_MONTH, text)


def _days_of_week(text: str) -> None:
    last = re.fullmatch(r"([0-9A-Z]+)L", text)
    nth = re.fullmatch(r"([0-9A-Z]+)#([0-9]+)", text)
    if text == "L" or last is not None:
        if last is not None:
            _value(DAY_OF_WEEK, last[1])
    elif nth is not None:
        _value(DAY_OF_WEEK, nth[1])
        if not 1 <= int(nth[2]) <= 5:
            raise _CronError(f"day-of-week '{text}': the week of the month after # is 1-5")
    elif "L" in text or "#" in text:  # no day name has an L
        raise _CronError(f"day-of-week '{text}': L and # stand alone (L, 6L or 3#2), never in a list")
    else:
        _values(DAY_OF_WEEK, text)


def _values(field: _Field, text: str) -> set[int]:
    """The values a field of lists, ranges, `*` and increments names."""
    if text == "?":
        raise _CronError(f"{field.name} '?': only day-of-month or day-of-week may be ?")
    values: set[int] = set()
    for item in text.split(","):
        base, slash, step_text = item.partition("/")
        if slash and not field.increments:
            raise _CronError(f"{field.name} '{text}': {field.name} takes no increments (/)")
        if base == "*":
            low, high = field.low, field.high
        elif "-" in base:
            start, _, end = base.partition("-")
            low, high = _value(field, start), _value(field, end)
            if low > high:
                raise _CronError(f"{field.name} '{text}': the range {base} runs backwards; list it as two ranges")
        else:
            low = _value(field, base)
            high = field.high if slash else low
        step = 1
        if slash:
            if not step_text.isascii() or not step_text.isdigit() or not 1 <= int(step_text) <= field.span:
                raise _CronError(f"{field.name} '{text}': the increment after / is a whole number 1-{field.span}")
            step = int(step_text)
        values.update(range(low, high + 1, step))
    return values


def _value(field: _Field, text: str) -> int:
    if text in field.names:
        return field.low + field.names.index(text)
    if text.isascii() and text.isdigit() and len(text) <= len(str(field.high)):
        value = int(text)
        if field.low <= value <= field.high:
            return value
    raise _CronError(f"{field.name} '{text}' is not a value of {field.values()}")
