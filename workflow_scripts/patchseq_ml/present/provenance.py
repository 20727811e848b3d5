"""What the provenance section records beyond the config: code version, software versions, input checksums."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path

from ..acquire.fetch import sha256_of

REPOSITORY = Path(__file__).resolve().parents[3]  # workflow_scripts/patchseq_ml/present/ -> the repository
PACKAGES = ("snakemake", "numpy", "pandas", "scipy", "scikit-learn", "torch", "h5py", "pynwb", "matplotlib", "dandi")


def git_commit(repo: Path) -> str:
    """HEAD of the repository, with ' (uncommitted changes)' when the working tree differs; 'unknown' outside git."""
    try:
        head = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    return head + (" (uncommitted changes)" if dirty else "")


def software_versions(packages: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """Installed versions of the packages that shape the results, as seen by the report job's environment."""
    versions = {"python": platform.python_version()}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed in the report environment"
    return versions


def entries(settings: dict[str, str], inputs: list[str], repo: Path = REPOSITORY) -> dict[str, str]:
    """The provenance table: git commit, the run's settings, sha256 of ``inputs``, software versions."""
    table = {"git commit": git_commit(repo), **settings}
    table.update({f"sha256 of {path}": sha256_of(Path(path)) for path in inputs})
    table.update({f"version: {k}": v for k, v in software_versions().items()})
    return table
