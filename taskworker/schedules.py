"""Periodic tasks: ``app.schedule(name, expression, task_type, payload)``.

Each declaration becomes an EventBridge Scheduler schedule when deployed (``infra/``) and
is fired by ``taskworker dev`` locally. The expressions are Scheduler's own:

- ``rate(N minute|minutes|hour|hours|day|days)`` (singular for 1, plural above);
- ``cron(minutes hours day-of-month month day-of-week year)``: six fields, ``, - * /``,
  ``?`` in exactly one of the two day fields, ``L`` and ``W`` in day-of-month (``L``,
  ``LW``, ``15W``), ``L`` and ``#`` in day-of-week (``6L``: the last Friday, ``2#1``:
  the first Monday), day-of-week ``1``-``7`` = ``SUN``-``SAT``;
- ``at(yyyy-mm-ddThh:mm:ss)``: once.

They are checked when declared, and :class:`Expression` computes the next run in the
schedule's timezone (a pure evaluator, so the core needs no cron library). A rate runs
every interval from when its schedule was created; here "next" is one interval from the
moment given. Local times a DST change skips are not run.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from taskworker.errors import TaskDefinitionError

NAME = re.compile(r"[0-9A-Za-z_.-]{1,64}")
"""Scheduler's schedule names (the deployed name also carries the app's prefix)."""

_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_CRON = re.compile(r"cron\(([^()]*)\)")
_AT = re.compile(r"at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTHS = {name: index + 1 for index, name in enumerate(_MONTH_NAMES)}
_DAYS = {name: index + 1 for index, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}
SEARCH_DAYS = 5 * 366
"""How far ahead a cron's next run is looked for (a year field can rule out every day)."""

DayRule = Callable[[date], bool]


class ExpressionError(TaskDefinitionError):
    """A schedule expression Scheduler would refuse."""


@dataclass(frozen=True, slots=True)
class Expression:
    """A parsed ``rate()``, ``cron()`` or ``at()`` expression; :meth:`next_after` evaluates it."""

    text: str
    interval: timedelta | None = None
    once: datetime | None = None
    """``at()``: the naive local time it fires at."""
    minutes: frozenset[int] = frozenset()
    hours: frozenset[int] = frozenset()
    day: DayRule | None = field(default=None, compare=False)

    @classmethod
    def parse(cls, text: str) -> Expression:
        if not isinstance(text, str):
            raise ExpressionError(f"a schedule expression is a str, not {type(text).__name__}")
        if match := _RATE.fullmatch(text):
            return cls._rate(text, int(match[1]), match[2])
        if match := _AT.fullmatch(text):
            try:
                return cls(text, once=datetime.fromisoformat(match[1]))
            except ValueError as exc:
                raise ExpressionError(f"{text!r}: {exc}") from None
        if match := _CRON.fullmatch(text):
            return _cron(text, match[1].split())
        raise ExpressionError(
            f"{text!r} is not a schedule expression: use rate(5 minutes), "
            "cron(0 3 * * ? *) (six fields) or at(2026-12-02T06:00:00)"
        )

    @classmethod
    def _rate(cls, text: str, value: int, unit: str) -> Expression:
        singular = unit.rstrip("s")
        if value < 1 or (value == 1) != (unit == singular):
            raise ExpressionError(f"{text!r}: write rate(1 {singular}) or rate(N {singular}s) with N > 1")
        return cls(text, interval=timedelta(seconds=value * _UNIT_SECONDS[singular]))

    def next_after(self, after: datetime, zone: Any = UTC) -> datetime | None:
        """The first run strictly after ``after`` (aware), in UTC; ``None`` if there is none."""
        if self.interval is not None:
            return (after + self.interval).astimezone(UTC)
        if self.once is not None:
            when = self.once.replace(tzinfo=zone).astimezone(UTC)
            return when if when > after else None
        assert self.day is not None
        first = after.astimezone(zone).date()
        for offset in range(SEARCH_DAYS):
            day = first + timedelta(days=offset)
            if self.day(day):
                found = self._first_time(day, after, zone)
                if found is not None:
                    return found
        return None

    def _first_time(self, day: date, after: datetime, zone: Any) -> datetime | None:
        for hour in sorted(self.hours):
            for minute in sorted(self.minutes):
                local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
                when = local.astimezone(UTC)
                exists = when.astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None)
                if when > after and exists:
                    return when
        return None


def _cron(text: str, fields: list[str]) -> Expression:
    if len(fields) != 6:
        raise ExpressionError(
            f"{text!r} has {len(fields)} fields; Scheduler's cron has six: "
            "minutes hours day-of-month month day-of-week year, e.g. cron(0 3 * * ? *)"
        )
    minute, hour, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise ExpressionError(f"{text!r}: exactly one of day-of-month and day-of-week must be '?'")
    try:
        months = _values(month, 1, 12, _MONTHS)
        years = _values(year, 1970, 2199, {})
        day_rule = _dom_rule(dom) if dow == "?" else _dow_rule(dow)
        minutes, hours = _values(minute, 0, 59, {}), _values(hour, 0, 23, {})
    except ValueError as exc:
        raise ExpressionError(f"{text!r}: {exc}") from None

    def matches(day: date) -> bool:
        return day.year in years and day.month in months and day_rule(day)

    return Expression(text, minutes=minutes, hours=hours, day=matches)


def _values(text: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    """A field of ``, - * /`` terms as the set of values it allows."""
    values: set[int] = set()
    for term in text.split(","):
        span, _, step_text = term.partition("/")
        step = _number(step_text, 1, high - low + 1, {}) if step_text else 1
        if span == "*":
            start, end = low, high
        elif "-" in span:
            first, _, last = span.partition("-")
            start, end = _number(first, low, high, names), _number(last, low, high, names)
        else:
            start = _number(span, low, high, names)
            end = high if step_text else start
        if start > end:
            raise ValueError(f"{term!r}: a range runs from low to high")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _number(text: str, low: int, high: int, names: dict[str, int]) -> int:
    value = names.get(text.upper()) if names else None
    if value is None:
        if not text.isdigit():
            raise ValueError(f"{text!r} is not a number from {low} to {high}")
        value = int(text)
    if not low <= value <= high:
        raise ValueError(f"{value} is outside {low}-{high}")
    return value


def _last_day(day: date) -> int:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return (following - timedelta(days=1)).day


def _weekday(day: date) -> int:
    """Scheduler's day-of-week: 1 = Sunday ... 7 = Saturday."""
    return (day.isoweekday() % 7) + 1


def _nearest_weekday(day: date, target: int) -> bool:
    """``nW``: the weekday nearest to day ``target`` of the month, within the month."""
    target = min(target, _last_day(day))
    wanted = day.replace(day=target)
    if wanted.isoweekday() == 6:  # Saturday: Friday before, or Monday when the 1st
        wanted += timedelta(days=2) if target == 1 else timedelta(days=-1)
    elif wanted.isoweekday() == 7:  # Sunday: Monday after, or Friday when the month's last day
        wanted += timedelta(days=-2) if target == _last_day(day) else timedelta(days=1)
    return day == wanted


def _dom_rule(text: str) -> DayRule:
    if text == "L":
        return lambda day: day.day == _last_day(day)
    if text == "LW":
        return lambda day: _nearest_weekday(day, _last_day(day))
    if text.endswith("W"):
        target = _number(text[:-1], 1, 31, {})
        return lambda day: _nearest_weekday(day, target)
    days = _values(text, 1, 31, {})
    return lambda day: day.day in days


def _dow_rule(text: str) -> DayRule:
    if text.endswith("L") and len(text) > 1:
        weekday = _number(text[:-1], 1, 7, _DAYS)
        return lambda day: _weekday(day) == weekday and day.day + 7 > _last_day(day)
    if "#" in text:
        weekday_text, _, nth_text = text.partition("#")
        weekday, nth = _number(weekday_text, 1, 7, _DAYS), _number(nth_text, 1, 5, {})
        return lambda day: _weekday(day) == weekday and (day.day - 1) // 7 + 1 == nth
    weekdays = _values("7" if text == "L" else text, 1, 7, _DAYS)
    return lambda day: _weekday(day) in weekdays


@dataclass(frozen=True, slots=True)
class ScheduleSpec:
    """One ``app.schedule(...)`` declaration; ``body`` is the payload's JSON text."""

    name: str
    expression: Expression
    task_type: str
    body: str
    timezone: str = "UTC"

    def next_run(self, after: datetime) -> datetime | None:
        from zoneinfo import ZoneInfo

        return self.expression.next_after(after, ZoneInfo(self.timezone))


def declare_schedule(name: str, expression: str, task_type: str, payload: Any, timezone: str) -> ScheduleSpec:
    """Check everything a schedule can be checked for without its task."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise TaskDefinitionError(f"schedule name {name!r}: 1-64 letters, digits, '-', '_' or '.'")
    parsed = Expression.parse(expression)
    _check_timezone(name, timezone)
    return ScheduleSpec(name, parsed, task_type, _body(name, payload), timezone)


def _check_timezone(name: str, timezone: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise TaskDefinitionError(
            f"schedule {name!r}: unknown timezone {timezone!r} (e.g. 'Europe/Berlin')"
        ) from None


def _body(name: str, payload: Any) -> str:
    import json

    from pydantic import BaseModel

    if isinstance(payload, BaseModel):
        return payload.model_dump_json(by_alias=True)
    try:
        return json.dumps(payload, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise TaskDefinitionError(
            f"schedule {name!r}: the payload is not JSON-serializable ({exc})"
        ) from None


def check_schedule(spec: ScheduleSpec, task: Any) -> None:
    """The schedule's task exists and its payload fits the task's model."""
    from pydantic import ValidationError

    from taskworker.errors import validation_summary

    if task is None:
        raise TaskDefinitionError(
            f"schedule {spec.name!r} runs task type {spec.task_type!r}, which the app does not declare"
        )
    try:
        task.input_model.model_validate_json(spec.body)
    except ValidationError as exc:
        raise TaskDefinitionError(
            f"schedule {spec.name!r}: invalid payload for {spec.task_type}: {validation_summary(exc)}"
        ) from None
