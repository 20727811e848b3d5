"""The rules as written in Snakefile and rules/*.smk (snakefmt layout), read from the text, not through the Snakemake
API: the Snakefile includes rule files by ``config['source']`` and ``source: dandi`` lists the archive while parsing,
so one text pass covers every rule of every source, offline and in well under a second."""

from __future__ import annotations

import ast
import re

import pytest
from conftest import ROOT

RULE_FILES = [ROOT / "Snakefile", *sorted((ROOT / "rules").glob("*.smk"))]


def _literal(lines: list[str], where: str):
    text = " ".join(line.strip() for line in lines).rstrip(",")
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        pytest.fail(f"{where}: not a literal ({text!r}); this test only reads literal paths")


def parse_rules() -> tuple[dict[str, dict], set[str]]:
    """Rule name -> {'file', 'directives' (names), 'paths' (conda/script, resolved against the declaring file)};
    the names listed in ``localrules:``."""
    rules, uses, local = {}, [], set()
    for path in RULE_FILES:
        lines = path.read_text().splitlines()
        i = 0
        while i < len(lines):
            line = lines[i]
            if re.match(r"\s+(rule|checkpoint|use rule) ", line):
                pytest.fail(f"{path.name}: indented (conditional) rule, which this parser does not read: {line!r}")
            head = re.match(r"(?:rule|checkpoint) (\w+):\s*$", line)
            use = re.match(r"use rule (\w+) as (\w+) with:\s*$", line)
            if line.startswith("use rule") and not use:
                pytest.fail(f"{path.name}: unsupported `use rule` form: {line!r}")
            if line.startswith("localrules:"):
                names = [line.split(":", 1)[1]]
                while i + 1 < len(lines) and lines[i + 1].startswith("    "):
                    i += 1
                    names.append(lines[i])
                local |= {n.strip() for text in names for n in text.split(",") if n.strip()}
            if not (head or use):
                i += 1
                continue
            name = head.group(1) if head else use.group(2)
            values, current = {}, None
            i += 1
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith((" ", "#"))):
                if re.match(r" {4}\w+:", lines[i]):
                    current, _, rest = lines[i].strip().partition(":")
                    values[current] = [rest] if rest.strip() else []
                elif current and lines[i].startswith(" " * 8):
                    values[current].append(lines[i])
                i += 1
            assert name not in rules, f"rule {name} defined twice"
            paths = {
                key: (path.parent / _literal(values[key], f"{path.name}: rule {name} {key}")).resolve()
                for key in ("conda", "script")
                if key in values
            }
            rules[name] = {"file": path, "directives": set(values), "paths": paths}
            if use:
                uses.append((use.group(1), name))
    for parent, child in uses:  # `use rule X as Y with:` keeps X's directives unless it overrides them
        assert parent in rules, f"use rule {parent} as {child}: no rule {parent}"
        rules[child]["directives"] |= rules[parent]["directives"]
        rules[child]["paths"] = {**rules[parent]["paths"], **rules[child]["paths"]}
    return rules, local
