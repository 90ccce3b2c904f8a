"""The sample suite of the pytest plugin, in testrun.local/suite-pytest:v1 (hack/cluster/suites.sh).

Two tests pass, one fails and one is skipped, so the e2e test sees a failing exit code and all four in
the JUnit summary.
"""
import os

import pytest


def test_addition():
    assert 2 + 2 == 4


def test_report_dir_is_exported():
    assert os.environ.get("TESTRUN_REPORT_DIR")


def test_greeting():
    assert "hello, world" == "hello, cluster"


@pytest.mark.skip(reason="skipped on purpose: the summary counts it")
def test_skipped():
    pass
