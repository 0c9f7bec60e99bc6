"""Audit policies: the built-in default and TOML policy files that disable, re-rate or tune rules.

Owns the policy file format and its validation. A policy file looks like::

    fail_on = "medium"                 # optional default for --fail-on
    [rules]
    cbc-without-etm = "off"            # shorthand: "off" / false, or a severity
    tls10-negotiated = "high"
    [rules.cert-weak-rsa-key]          # or a table: enabled, severity, rule parameters
    min_bits = 3072

Any unknown key, rule id, parameter or severity is a `PolicyError` naming the
line it is on.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .rules import DEFAULT_RULES, RULES_BY_ID, SEVERITIES, Rule

FAIL_ON = ("high", "medium", "low", "never")
TOP_KEYS = ("name", "description", "fail_on", "rules")
RULE_KEYS = ("enabled", "severity")


class PolicyError(Exception):
    """A policy file that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class ActiveRule:
    rule: Rule
    severity: str
    params: dict[str, Any]


@dataclass
class Policy:
    name: str = "default"
    fail_on: str | None = None
    rules: list[ActiveRule] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)


def default_policy() -> Policy:
    return Policy(rules=[ActiveRule(r, r.severity, dict(r.params)) for r in DEFAULT_RULES])


def _line_of(lines: list[str], key: str, start: int = 0, header: str | None = None) -> int:
    """1-based line where `key = ...` (or a `[header]` naming it) appears at or after `start`."""
    k = re.escape(key)
    pat = re.compile(rf"""^\s*(?:(["']?){k}\1\s*=|\[\s*(?:[^\]]*\.)?(["']?){k}\2\s*\])""")
    for i in range(start, len(lines)):
        if pat.search(lines[i]):
            return i + 1
    return start + 1 if start < len(lines) else 1


def load_policy(path: str | Path) -> Policy:
    """Read and check a policy file; raises `PolicyError` (with the line) on any problem."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise PolicyError(f"{p}: cannot read the policy: {getattr(e, 'strerror', None) or e}") from e
    return parse_policy(text, str(p))


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise PolicyError(f"{source}: not valid TOML: {e}") from e
    lines = text.splitlines()

    def fail(line: int, msg: str) -> PolicyError:
        return PolicyError(f"{source}:{line}: {msg}")

    for key in data:
        if key not in TOP_KEYS:
            raise fail(_line_of(lines, key), f"unknown key {key!r} (known: {', '.join(TOP_KEYS)})")
    policy = default_policy()
    policy.name = str(data.get("name", Path(source).stem))
    fail_on = data.get("fail_on")
    if fail_on is not None:
        if fail_on not in FAIL_ON:
            raise fail(_line_of(lines, "fail_on"), f"fail_on must be one of {', '.join(FAIL_ON)}, not {fail_on!r}")
        policy.fail_on = fail_on
    rules = data.get("rules", {})
    if not isinstance(rules, dict):
        raise fail(_line_of(lines, "rules"), "rules must be a table")
    by_id = {a.rule.id: a for a in policy.rules}
    for rid, setting in rules.items():
        line = _line_of(lines, rid)
        if rid not in RULES_BY_ID:
            raise fail(line, f"unknown rule id {rid!r} (see `handshake-analyzer audit --list-rules`)")
        active = by_id[rid]
        enabled, severity, params = True, active.severity, dict(active.params)
        if isinstance(setting, bool):
            enabled = setting
        elif isinstance(setting, str):
            if setting == "off":
                enabled = False
            elif setting in SEVERITIES:
                severity = setting
            else:
                raise fail(line, f"rule {rid}: expected \"off\" or a severity ({', '.join(SEVERITIES)}), not {setting!r}")
        elif isinstance(setting, dict):
            for k, v in setting.items():
                kline = _line_of(lines, k, line - 1)
                if k == "enabled":
                    if not isinstance(v, bool):
                        raise fail(kline, f"rule {rid}: enabled must be true or false")
                    enabled = v
                elif k == "severity":
                    if v not in SEVERITIES:
                        raise fail(kline, f"rule {rid}: severity must be one of {', '.join(SEVERITIES)}, not {v!r}")
                    severity = v
                elif k in active.rule.params:
                    default = active.rule.params[k]
                    if type(v) is not type(default):
                        raise fail(kline, f"rule {rid}: {k} must be a {type(default).__name__}")
                    params[k] = v
                else:
                    known = ", ".join((*RULE_KEYS, *active.rule.params))
                    raise fail(kline, f"rule {rid}: unknown key {k!r} (known: {known})")
        else:
            raise fail(line, f"rule {rid}: expected \"off\", a severity, true/false or a table")
        by_id[rid] = ActiveRule(active.rule, severity, params)
        if not enabled:
            del by_id[rid]
            policy.disabled.append(rid)
    policy.rules = [by_id[r.id] for r in DEFAULT_RULES if r.id in by_id]
    return policy
