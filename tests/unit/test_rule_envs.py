"""Per-rule conda envs: every rule that runs something has one, it provides what the script imports, pins match pip.

The rules are read from the text of Snakefile and rules/*.smk (``rule_files.parse_rules``), the library modules a
script reaches from the imports (``dag.library_modules``).
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT
from rule_files import parse_rules

from patchseq_ml import dag

SCRIPTS = ROOT / "workflow_scripts"
LIBRARY = "patchseq_ml"
ACTIONS = ("script", "shell", "run", "wrapper", "notebook", "cwl")

# import name -> the package names (conda or pip) that provide it; a new third-party import must be added here
PROVIDERS = {
    "dandi": {"dandi"},
    "h5py": {"h5py"},
    "matplotlib": {"matplotlib", "matplotlib-base"},
    "numpy": {"numpy"},
    "pandas": {"pandas"},
    "pynwb": {"pynwb"},
    "remfile": {"remfile"},
    "requests": {"requests"},
    "scipy": {"scipy"},
    "sklearn": {"scikit-learn"},
    "torch": {"pytorch", "torch"},
    "yaml": {"pyyaml"},
    "ipfx": {"ipfx"},
    "joblib": {"joblib", "scikit-learn"},  # a dependency of scikit-learn (its conda and pip packages pull it in)
    "threadpoolctl": {"threadpoolctl", "scikit-learn"},  # likewise
}
# conda-forge name -> PyPI name where they differ
CONDA_TO_PIP = {"pytorch": "torch", "snakemake-minimal": "snakemake", "matplotlib-base": "matplotlib"}
# Scripts never import snakemake: the preamble Snakemake prepends unpickles the `snakemake` object (snakemake.io),
# so the env of every Python-script rule carries snakemake-minimal at the main venv's version rather than relying
# on the main venv's sys.path, which the preamble only appends as a fallback.
SNAKEMAKE = "snakemake-minimal"


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


RULES, LOCALRULES = parse_rules()
ACTION_RULES = sorted(name for name, r in RULES.items() if any(a in r["directives"] for a in ACTIONS))
SCRIPT_RULES = sorted(name for name, r in RULES.items() if "script" in r["directives"])


def read_env(path: Path) -> dict:
    """channels, {conda name: (operator, version)}, {pip name: (operator, version)} of an env file."""
    env = yaml.safe_load(path.read_text())
    conda, pip = {}, {}
    for dep in env.get("dependencies", []):
        if isinstance(dep, dict):
            for spec in dep.get("pip", []):
                name, op, version = re.match(r"([A-Za-z0-9_.\-]+)\s*(?:(==|>=|<=|~=|!=|=)\s*(\S+))?", spec).groups()
                pip[_norm(name)] = (op, version)
        else:
            spec = str(dep).split("::")[-1]
            name, op, version = re.match(r"([A-Za-z0-9_.\-]+)\s*(?:(==|>=|<=|!=|=)\s*(\S+))?", spec).groups()
            conda[_norm(name)] = (op, version)
    return {"channels": env.get("channels", []), "conda": conda, "pip": pip}


def pip_pins(*files: str) -> dict[str, str]:
    """PyPI name -> version of `name==version` lines; the files must agree where they overlap."""
    pins: dict[str, str] = {}
    for file in files:
        for line in (ROOT / file).read_text().splitlines():
            m = re.match(r"([A-Za-z0-9_.\-]+)==(\S+)", line.split("#")[0].strip())
            if m:
                name = _norm(m.group(1))
                assert pins.setdefault(name, m.group(2)) == m.group(2), f"{file}: {name} pinned twice, differently"
    return pins


def _imports(tree: ast.AST):
    """Import nodes anywhere (functions included), except under `if TYPE_CHECKING:`."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in _imports(child))
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from _imports(node)


def third_party_imports(script: Path) -> dict[str, set[str]]:
    """Top-level third-party module -> the files (script or library modules it reaches) that import it."""
    found: dict[str, set[str]] = {}
    for path in [script, *map(Path, dag.library_modules(script))]:
        where = str(path.relative_to(ROOT))
        for node in _imports(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and node.level:
                continue  # relative: within the library
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module]
            for top in {name.split(".")[0] for name in names}:
                # snakemake: checked below, as SNAKEMAKE
                if top != LIBRARY and top not in sys.stdlib_module_names and top != "snakemake":
                    found.setdefault(top, set()).add(where)
    return found


def test_rule_files_are_all_included_and_parsed():
    included = set(re.findall(r'include:\s*"([^"]+)"', (ROOT / "Snakefile").read_text()))
    assert included == {f"rules/{p.name}" for p in (ROOT / "rules").glob("*.smk")}, included
    assert len(ACTION_RULES) >= 20 and {"download_asset", "table_features", "learning_curve_forest"} <= set(RULES)


def test_localrules_are_rules_with_an_env():
    assert LOCALRULES >= {"download_asset", "fetch_label_table", "fetch_table"}, LOCALRULES
    for name in LOCALRULES:
        assert name in RULES, f"localrules names {name}, which no rule file defines"
        assert "conda" in RULES[name]["directives"], f"local rule {name} has no conda:"


def test_rules_without_an_action_only_collect_inputs():
    idle = {name: r["directives"] for name, r in RULES.items() if name not in ACTION_RULES}
    assert all(d <= {"input", "default_target", "localrule"} for d in idle.values()), idle  # so no env needed


@pytest.mark.parametrize("name", ACTION_RULES)
def test_every_rule_that_runs_something_has_an_existing_env(name):
    assert "conda" in RULES[name]["directives"], f"rule {name} ({RULES[name]['file'].name}) has no conda:"
    env = RULES[name]["paths"]["conda"]
    assert env.parent == ROOT / "envs" and env.is_file(), f"rule {name}: conda env {env} missing"


@pytest.mark.parametrize("name", SCRIPT_RULES)
def test_env_provides_every_import_of_the_script(name):
    rule = RULES[name]
    script, env_file = rule["paths"]["script"], rule["paths"]["conda"]
    assert script.is_file(), f"rule {name}: script {script} missing"
    env = read_env(env_file)
    packages = set(env["conda"]) | set(env["pip"])
    missing = []
    for module, files in sorted(third_party_imports(script).items()):
        assert module in PROVIDERS, f"rule {name}: {module} (imported by {sorted(files)}) is not in PROVIDERS"
        if not PROVIDERS[module] & packages:
            missing.append(f"{module} (imported by {', '.join(sorted(files))})")
    assert not missing, f"rule {name}: {env_file.name} lacks " + "; ".join(missing)
    if script.suffix == ".py":
        assert SNAKEMAKE in env["conda"], f"rule {name}: {env_file.name} lacks {SNAKEMAKE} for the script preamble"


def test_library_walk_follows_relative_and_function_level_imports():
    found = third_party_imports(SCRIPTS / "download_asset.py")
    assert "dandi" in found and "requests" in found  # both imported inside functions
    assert "h5py" in third_party_imports(SCRIPTS / "extract_features.py")  # via ephys -> ..acquire.nwb_reader
    assert "torch" in third_party_imports(SCRIPTS / "finetune.py")


ENVS = sorted((ROOT / "envs").glob("*.yaml"))


@pytest.mark.parametrize("env_file", ENVS, ids=lambda p: p.name)
def test_env_pins_match_the_pip_requirements(env_file):
    env = read_env(env_file)
    ipfx = env_file.name == "ipfx.yaml"
    pins = pip_pins("requirements-ipfx.txt") if ipfx else pip_pins("requirements.txt", "requirements.lock")
    source = "requirements-ipfx.txt" if ipfx else "requirements.txt/requirements.lock"
    python = re.search(r'requires-python\s*=\s*">=(\d+\.\d+)"', (ROOT / "pyproject.toml").read_text()).group(1)
    wrong = [] if env["channels"] == ["conda-forge", "nodefaults"] else [f"channels {env['channels']}"]
    for kind, deps, operator in (("conda", env["conda"], "="), ("pip", env["pip"], "==")):
        for name, (op, version) in sorted(deps.items()):
            if kind == "conda" and name == "pip":
                continue
            if op != operator:
                wrong.append(f"{name}: pin with {operator}, not {op or 'nothing'}")
            elif name == "python":
                if version != python:
                    wrong.append(f"python={version}, pyproject.toml requires-python >={python}")
            else:
                pip_name = CONDA_TO_PIP.get(name, name) if kind == "conda" else name
                if pins.get(pip_name) != version:
                    wrong.append(f"{name}={version}, {source} pins {pip_name}=={pins.get(pip_name)}")
    assert not wrong, f"{env_file.name}: " + "; ".join(wrong)
    if env["pip"]:
        assert "pip" in env["conda"], f"{env_file.name}: a pip: section needs pip in dependencies"


def test_ipfx_env_provides_the_ipfx_reference_imports():
    env = read_env(ROOT / "envs/ipfx.yaml")
    packages = set(env["conda"]) | set(env["pip"])
    imports = third_party_imports(ROOT / "benchmarks/ipfx_reference.py")
    assert not {m for m in imports if not PROVIDERS.get(m, set()) & packages}, imports
