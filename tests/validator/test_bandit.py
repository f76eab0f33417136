"""bandit runs in-process, once-configured, ignores `# nosec`, and never passes a skipped file."""

from __future__ import annotations

import pytest

from validator import bandit_scan


def test_nosec_silences_nothing() -> None:
    findings = bandit_scan.scan("value = eval('1')  # nosec\nother = eval('2')  # nosec B307\n")
    assert [(f.rule, f.line, f.severity) for f in findings] == [
        ("B307", 1, "error"),
        ("B307", 2, "error"),
    ]


def test_skipped_file_is_a_failure() -> None:
    [finding] = bandit_scan.scan("def broken(:\n")
    assert (finding.rule, finding.severity) == ("EP902", "error")


def test_bandit_crash_is_a_failure() -> None:
    # bandit's own recursive visitor gives up on this expression and skips the file.
    [finding] = bandit_scan.scan("x = " + "1 + " * 1000 + "1\n")
    assert (finding.rule, finding.severity) == ("EP902", "error")
    assert "exception while scanning" in finding.message


def test_low_findings_stay_visible() -> None:
    source = "import pickle\nimport subprocess\nimport random\nrandom.random()\n"
    findings = bandit_scan.scan(source)
    assert {(f.rule, f.severity) for f in findings} == {
        ("B403", "warning"),
        ("B404", "warning"),
        ("B311", "info"),
    }


@pytest.mark.parametrize(
    ("test_id", "severity", "confidence", "expected"),
    [
        ("B307", "MEDIUM", "HIGH", "error"),
        ("B602", "HIGH", "HIGH", "error"),
        ("B113", "MEDIUM", "LOW", "warning"),
        ("B403", "LOW", "HIGH", "warning"),
        ("B101", "LOW", "HIGH", "info"),
        ("B311", "LOW", "HIGH", "info"),
        ("B108", "MEDIUM", "MEDIUM", "info"),  # /tmp is the sandbox's scratch directory
    ],
)
def test_blocking_policy(test_id: str, severity: str, confidence: str, expected: str) -> None:
    assert bandit_scan.bandit_severity(test_id, severity, confidence) == expected


def test_hardcoded_tmp_dir_is_informational() -> None:
    """The reported case: a cache under /tmp, the sandbox's documented scratch directory."""
    source = 'cache_dir = "/tmp/evalcache"\nwork = "/var/tmp/x"\nshm = "/dev/shm/y"\n'
    findings = bandit_scan.scan(source)
    assert [f.rule for f in findings] == ["B108"] * 3
    assert {f.severity for f in findings} == {"info"}


def test_manager_is_built_once_and_reset_between_scripts() -> None:
    bandit_scan.scan("import pickle\n")
    manager = bandit_scan._get_manager()
    assert bandit_scan.scan("x = 1\n") == []
    assert bandit_scan._get_manager() is manager
