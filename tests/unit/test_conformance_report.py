"""conformance/report.py: a tempest run's results against the expected-failures list."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "conformance"))
import report  # noqa: E402

NET = "tempest.api.network.test_networks.NetworksTest"
PLUGIN = "neutron_tempest_plugin.api.test_subnets.SubnetsSearchCriteriaTest"
# As subunit2csv writes it: a test id with a comma in its attributes is quoted.
CSV = f"""test,status,start_time,stop_time
"{NET}.test_list_networks[id-f7ffdeda-e200-4a7a-bcbe-05716e86bf43,smoke]",success,a,b
{NET}.test_show_network[id-2bf13842-c93f-4a69-83ed-717d2ec3b44e],failure,a,b
{PLUGIN}.test_list_pagination[id-1d3bf0f1],fail,a,b
{PLUGIN}.test_list_sorts[id-2],skip,a,b
{PLUGIN}.test_list_validation_filters[id-3],xfail,a,b
setUpClass ({PLUGIN}),failure,a,b
{NET}.test_update_network[id-4],exists,a,b
"""


def test_results_keyed_without_attributes_and_statuses_folded() -> None:
    assert report.parse_results(CSV) == {
        f"{NET}.test_list_networks": "pass",
        f"{NET}.test_show_network": "fail",
        f"{PLUGIN}.test_list_pagination": "fail",
        f"{PLUGIN}.test_list_sorts": "skip",
        f"{PLUGIN}.test_list_validation_filters": "pass",
        f"setUpClass ({PLUGIN})": "fail",
    }


def test_a_test_reported_twice_keeps_its_failure() -> None:
    text = f"test,status\n{NET}.t[id-1],fail\n{NET}.t[id-1],success\n"
    assert report.parse_results(text) == {f"{NET}.t": "fail"}


def test_expected_list_needs_a_reason_per_test() -> None:
    text = (f"# comment\n\n{NET}.test_show_network # subnets?shared filter refused\n"
            f"{PLUGIN}.test_list_pagination[id-1d3bf0f1]  #  flaky: races the agent \n")
    assert report.parse_expected(text) == {
        f"{NET}.test_show_network": "subnets?shared filter refused",
        f"{PLUGIN}.test_list_pagination": "flaky: races the agent"}
    with pytest.raises(ValueError, match="line 1: .* has no ' # reason'"):
        report.parse_expected(f"{NET}.test_show_network\n")
    with pytest.raises(ValueError, match="listed twice"):
        report.parse_expected(f"{NET}.a # x\n{NET}.a[id-2] # y\n")


def test_compare_reports_unexpected_failures_and_new_passes() -> None:
    results = report.parse_results(CSV)
    expected = {f"{NET}.test_show_network": "extension X missing",
                f"{NET}.test_list_networks": "pagination (issue 13)",
                f"{PLUGIN}.test_list_sorts": "sorting",
                f"{NET}.test_gone": "removed upstream"}
    outcome = report.compare(results, expected)
    assert (outcome.passed, outcome.failed, outcome.skipped) == (2, 3, 1)
    assert outcome.unexpected_failures == [f"{PLUGIN}.test_list_pagination",
                                           f"setUpClass ({PLUGIN})"]
    assert outcome.expected_failures == [f"{NET}.test_show_network"]
    assert outcome.now_passing == [f"{NET}.test_list_networks"]
    assert outcome.not_run == [f"{PLUGIN}.test_list_sorts", f"{NET}.test_gone"]
    assert not outcome.ok
    lines = report.render(outcome, expected)
    assert lines[-1] == "2 passed, 3 failed, 1 skipped"
    assert f"UNEXPECTED FAILURE: {PLUGIN}.test_list_pagination" in lines
    assert (f"now passing — remove from the list: {NET}.test_list_networks"
            "  # pagination (issue 13)") in lines


def test_only_unexpected_failures_fail_the_run() -> None:
    results = {"a": "pass", "b": "fail", "c": "skip"}
    assert report.compare(results, {"b": "known", "a": "fixed since"}).ok
    assert not report.compare(results, {"a": "fixed since"}).ok


def test_flaky_tests_are_tolerated_but_reported() -> None:
    expected = {"a": "flaky: DHCP port race", "b": "Flaky under load"}
    outcome = report.compare({"a": "pass", "b": "fail"}, expected)
    assert outcome.ok
    assert outcome.now_passing == []
    assert outcome.flaky_passed == ["a"]
    assert outcome.expected_failures == ["b"]
    assert "flaky, passed this time: a  # flaky: DHCP port race" in \
        report.render(outcome, expected)


def test_committed_list_parses() -> None:
    path = Path(report.__file__).parent / "expected-failures.txt"
    expected = report.parse_expected(path.read_text())
    assert all(key.startswith(("tempest.api.network.", "neutron_tempest_plugin.api.",
                               "setUpClass (", "tearDownClass ("))
               for key in expected)


def test_many_tests_not_run_are_counted_not_listed() -> None:
    expected = {f"t{i}": "reason" for i in range(report.MAX_NOT_RUN_SHOWN + 1)}
    lines = report.render(report.compare({}, expected), expected)
    assert lines == ["expected failures: 0 failed as listed (conformance/expected-failures.txt)",
                     "listed but not run (skipped, gone or not selected): 21 tests",
                     "0 passed, 0 failed, 0 skipped"]
