"""Auditing connections against a TLS policy: rules, policy files, findings and CI exit codes.

Owns nothing itself; it gathers the public API of its modules:
`rules` (the built-in rule catalogue), `policy` (default policy and TOML policy
files), `findings` (evaluation of connection rows, writers, exit-code decision).
"""

from __future__ import annotations

from .findings import FINDING_FIELDS, FINDING_FORMATS, Auditor, Finding, failing, sarif, write_findings
from .policy import FAIL_ON, ActiveRule, Policy, PolicyError, default_policy, load_policy, parse_policy
from .rules import DEFAULT_RULES, RULES_BY_ID, SEVERITIES, Rule

__all__ = [
    "ActiveRule", "Auditor", "DEFAULT_RULES", "FAIL_ON", "FINDING_FIELDS", "FINDING_FORMATS", "Finding", "Policy",
    "PolicyError", "RULES_BY_ID", "Rule", "SEVERITIES", "default_policy", "failing", "load_policy", "parse_policy",
    "sarif", "write_findings",
]
