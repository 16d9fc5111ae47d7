"""The sdist and the wheel, checked as PyPI and a new user would see them.

``python -m build`` builds both from a clean copy of the sources (pinned
setuptools, no build isolation), ``twine check --strict`` checks them as the
index does, and the wheel's METADATA is read for the PEP 639 license fields,
the classifiers and the extras.
"""

from __future__ import annotations

import email.parser
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import pyws_shim

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "pyws_shim")


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and the wheel, built from a copy of the sources."""
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, src / name)
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(src)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def only(directory: Path, pattern: str) -> Path:
    (found,) = directory.glob(pattern)
    return found


def test_twine_check_strict_passes_on_the_wheel_and_the_sdist(dist: Path) -> None:
    wheel = only(dist, "pyws_shim-*-py3-none-any.whl")
    sdist = only(dist, "pyws_shim-*.tar.gz")
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(wheel), str(sdist)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2, result.stdout


def test_wheel_metadata_declares_the_mit_license_and_carries_its_file(dist: Path) -> None:
    wheel = only(dist, "pyws_shim-*-py3-none-any.whl")
    info = f"pyws_shim-{pyws_shim.__version__}.dist-info"
    with zipfile.ZipFile(wheel) as archive:
        metadata = email.parser.Parser().parsestr(archive.read(f"{info}/METADATA").decode())
        license_text = archive.read(f"{info}/licenses/LICENSE").decode()
    assert metadata["Metadata-Version"] >= "2.4"
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert license_text == (ROOT / "LICENSE").read_text()
    assert "Copyright (c) the pyws_shim developers" in license_text
    classifiers = metadata.get_all("Classifier", [])
    # PEP 639: no license classifier beside a license expression.
    assert not [c for c in classifiers if c.startswith("License ::")]
    for version in ("3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {version}" in classifiers
    for classifier in (
        "Operating System :: OS Independent",
        "Environment :: Web Environment",
        "Framework :: AsyncIO",
    ):
        assert classifier in classifiers
    # Extras are what users choose; the developers' tools are dependency groups.
    assert metadata.get_all("Provides-Extra") == ["socks"]
    requires = metadata.get_all("Requires-Dist", [])
    assert not [r for r in requires if "pytest" in r or "<" in r.split(";")[0]], requires
    # The long description is the README, with no relative link (it is shown on PyPI).
    description = str(metadata.get_payload())
    assert description.startswith("# pyws_shim")
    assert "](" not in description.replace("](https://", ""), "a relative link in README.md"


def test_sdist_carries_the_license_and_not_the_tests(dist: Path) -> None:
    sdist = only(dist, "pyws_shim-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert "LICENSE" in names
    assert "pyws_shim/py.typed" in names
    assert not [name for name in names if name.startswith("tests/")]
