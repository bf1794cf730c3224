"""The wheel that `pip install .` builds, which is what the Docker image installs, carries
every file of the packages: page templates in subfolders and static files, not only modules."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

# It starts processes: handed out first, so that it never ends the run (tests/conftest.py).
pytestmark = pytest.mark.processes

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("authserver", "mcpserver", "shared", "hospiai")


def test_the_wheel_carries_every_file_of_the_packages(tmp_path: Path) -> None:
    # A copy: building in place would leave build/ and egg-info folders in the checkout.
    source = tmp_path / "source"
    for package in PACKAGES:
        shutil.copytree(ROOT / package, source / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", source)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
         "--wheel-dir", str(tmp_path / "wheel"), str(source)],
        check=True, capture_output=True, timeout=300,
    )
    (wheel,) = (tmp_path / "wheel").glob("*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    files = {
        path.relative_to(source).as_posix()
        for package in PACKAGES
        for path in (source / package).rglob("*")
        if path.is_file()
    }
    assert sorted(files - shipped) == []
