"""Fault rules that make run-creation requests of the local Apify server fail or produce bad runs.

`LocalApifyServer.add_fault` describes what each mode does.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
from dataclasses import dataclass
from typing import Any

HTTP_FAULT_MODES = ("http_429", "http_500", "http_500_echo_token")
"""Fault modes that make run creation return an HTTP error without starting a run."""

OUTCOME_FAULT_MODES = ("hang", "failed", "aborted", "timed_out", "empty")
"""Fault modes that change how a run ends. At most one applies to a run."""

ITEM_FAULT_MODES = ("malformed_items", "oversized_items", "duplicate_items")
"""Fault modes that change the items a run pushes. Several can apply to one run."""

PAGE_FAULT_MODES = ("slow_pages",)
"""Fault modes that delay each dataset items request of the run's dataset."""

FAULT_MODES = HTTP_FAULT_MODES + OUTCOME_FAULT_MODES + ITEM_FAULT_MODES + PAGE_FAULT_MODES


@dataclass
class FaultRule:
    """Rule that makes matching run-creation requests fail or produce bad runs.

    Attributes:
        mode: One of `FAULT_MODES`.
        match: Substring that the run input, serialised with
            `json.dumps(run_input, ensure_ascii=False, sort_keys=True)`, must contain. None
            matches every run input.
        times: Remaining number of matching run-creation requests that the rule applies to,
            or None for no limit.
        delay_seconds: Delay before each dataset items response, for `slow_pages` only.
    """

    mode: str
    match: str | None = None
    times: int | None = None
    delay_seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.mode not in FAULT_MODES:
            raise ValueError(
                f"Unknown fault mode {self.mode!r}. Use one of: {', '.join(FAULT_MODES)}."
            )
        if self.match is not None and not isinstance(self.match, str):
            raise ValueError(f"Fault match must be a string or None, got {self.match!r}.")
        if self.times is not None and (
            isinstance(self.times, bool) or not isinstance(self.times, int) or self.times < 1
        ):
            raise ValueError(
                f"Fault times must be a whole number of 1 or more, got {self.times!r}."
            )
        if isinstance(self.delay_seconds, bool) or not isinstance(self.delay_seconds, int | float):
            raise ValueError(f"Fault delay_seconds must be a number, got {self.delay_seconds!r}.")
        if self.mode == "slow_pages" and not self.delay_seconds > 0:
            raise ValueError("Fault mode slow_pages needs delay_seconds greater than 0.")
        if self.mode != "slow_pages" and self.delay_seconds != 0:
            raise ValueError(f"delay_seconds applies only to slow_pages, not to {self.mode}.")

    def matches(self, input_text: str) -> bool:
        """Return whether the rule has uses left and its match is part of `input_text`."""
        has_uses_left = self.times is None or self.times > 0
        return has_uses_left and (self.match is None or self.match in input_text)

    def to_json(self) -> dict[str, Any]:
        """Return the rule as a JSON object with the constructor's field names."""
        return dataclasses.asdict(self)


class FaultRules:
    """Thread-safe list of fault rules, consumed by run-creation requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.append(rule)

    def clear(self) -> int:
        with self._lock:
            removed = len(self._rules)
            self._rules.clear()
            return removed

    def snapshot(self) -> list[FaultRule]:
        with self._lock:
            return [copy.copy(rule) for rule in self._rules]

    def take_http_fault(self, input_text: str) -> FaultRule | None:
        """Use up and return the first matching HTTP error rule, or None."""
        with self._lock:
            for rule in self._rules:
                if rule.mode in HTTP_FAULT_MODES and rule.matches(input_text):
                    return self._use(rule)
        return None

    def take_run_faults(self, input_text: str) -> list[FaultRule]:
        """Use up and return the rules that shape a new run.

        That is the first matching outcome rule, every matching item rule and the first
        matching `slow_pages` rule, in the order they were added.
        """
        selected_rules: list[FaultRule] = []
        with self._lock:
            for rule in self._rules:
                if rule.mode in HTTP_FAULT_MODES or not rule.matches(input_text):
                    continue
                if rule.mode in ITEM_FAULT_MODES or all(
                    _fault_group(rule.mode) != _fault_group(selected.mode)
                    for selected in selected_rules
                ):
                    selected_rules.append(self._use(rule))
        return selected_rules

    @staticmethod
    def _use(rule: FaultRule) -> FaultRule:
        if rule.times is not None:
            rule.times -= 1
        # copy.copy, because dataclasses.replace would validate again and reject times=0.
        return copy.copy(rule)


def _fault_group(mode: str) -> str:
    if mode in OUTCOME_FAULT_MODES:
        return "outcome"
    if mode in ITEM_FAULT_MODES:
        return "items"
    if mode in PAGE_FAULT_MODES:
        return "pages"
    return "http"
