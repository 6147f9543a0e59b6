"""The result of a conformance run against the committed list of expected failures.

Pure functions, no I/O beyond reading the files named (tests/unit/test_conformance_report.py):

* `parse_results(csv_text)`: the tempest run's results as ``subunit2csv`` writes them
  (``test,status,start_time,stop_time``) → {test id: "pass" | "fail" | "skip"};
* `parse_expected(text)`: ``conformance/expected-failures.txt`` → {test id: reason};
* `compare(results, expected)`: counts and the differences;
* `render(report)`: the lines printed, ending with ``N passed, M failed, K skipped``.

Test ids are compared without their ``[id-…,smoke]`` attribute suffix, so the list stays
readable. A reason containing the word ``flaky`` marks a test that fails only sometimes:
its failure is tolerated, and a pass is reported as such instead of "now passing".
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

PASS, FAIL, SKIP = "pass", "fail", "skip"
# subunit statuses: xfail (expected failure) counts as a pass, uxsuccess (a test
# marked as expected to fail that passed) as a failure, as tempest's summary does.
# subunit2csv writes "failure" ("fail" is subunit's v2 wire name; both accepted).
_STATUS = {"success": PASS, "xfail": PASS, "failure": FAIL, "fail": FAIL,
           "uxsuccess": FAIL, "skip": SKIP}
_ATTRS = re.compile(r"\[[^\]]*\]$")
MAX_NOT_RUN_SHOWN = 20


def test_key(test_id: str) -> str:
    """A test id without its attribute suffix ("…test_x[id-1234,smoke]" → "…test_x")."""
    return _ATTRS.sub("", test_id.strip())


def parse_results(csv_text: str) -> dict[str, str]:
    results: dict[str, str] = {}
    for row in csv.DictReader(io.StringIO(csv_text)):
        status = _STATUS.get((row.get("status") or "").strip())
        if status is None:  # "exists", "inprogress": not a result
            continue
        key = test_key(row["test"])
        # A test reported twice keeps its worst outcome.
        if results.get(key) != FAIL:
            results[key] = status
    return results


def parse_expected(text: str) -> dict[str, str]:
    """One test id per line followed by `` # reason``; blank lines and lines starting
    with ``#`` are comments. A line without a reason is an error: every expected
    failure says why."""
    expected: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        test, sep, reason = line.partition(" # ")
        if not sep or not reason.strip():
            raise ValueError(f"line {number}: '{line}' has no ' # reason'")
        key = test_key(test)
        if key in expected:
            raise ValueError(f"line {number}: {key} is listed twice")
        expected[key] = reason.strip()
    return expected


def is_flaky(reason: str) -> bool:
    return re.search(r"\bflaky\b", reason, re.IGNORECASE) is not None


@dataclass
class Report:
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    unexpected_failures: list[str] = field(default_factory=list)
    now_passing: list[str] = field(default_factory=list)      # listed, passed
    flaky_passed: list[str] = field(default_factory=list)     # listed flaky, passed
    expected_failures: list[str] = field(default_factory=list)
    not_run: list[str] = field(default_factory=list)          # listed, skipped or absent

    @property
    def ok(self) -> bool:
        return not self.unexpected_failures

    @property
    def closing_line(self) -> str:
        return f"{self.passed} passed, {self.failed} failed, {self.skipped} skipped"


def compare(results: dict[str, str], expected: dict[str, str]) -> Report:
    report = Report()
    for test, status in sorted(results.items()):
        if status == PASS:
            report.passed += 1
            if test in expected:
                (report.flaky_passed if is_flaky(expected[test])
                 else report.now_passing).append(test)
        elif status == FAIL:
            report.failed += 1
            (report.expected_failures if test in expected
             else report.unexpected_failures).append(test)
        else:
            report.skipped += 1
    report.not_run = sorted(t for t in expected if results.get(t, SKIP) == SKIP)
    return report


def render(report: Report, expected: dict[str, str]) -> list[str]:
    lines = [f"expected failures: {len(report.expected_failures)} failed as listed "
             f"(conformance/expected-failures.txt)"]
    lines += [f"UNEXPECTED FAILURE: {test}" for test in report.unexpected_failures]
    lines += [f"now passing — remove from the list: {test}  # {expected[test]}"
              for test in report.now_passing]
    lines += [f"flaky, passed this time: {test}  # {expected[test]}"
              for test in report.flaky_passed]
    if len(report.not_run) <= MAX_NOT_RUN_SHOWN:
        lines += [f"listed but not run (skipped or gone): {test}" for test in report.not_run]
    else:  # a run of a few tests (CONFORMANCE_REGEX): not worth a line each
        lines.append(f"listed but not run (skipped, gone or not selected): "
                     f"{len(report.not_run)} tests")
    lines.append(report.closing_line)
    return lines
