"""Build the offline Pyodide distribution the Pyodide test runs load.

    build/pyodide-tools/bin/python tests/pyodide_dist.py [--dist DIR]

(``tests/run`` creates that Python >= 3.12 environment with the pinned
``pyodide-dist`` dependency group of pyproject.toml and calls this before every
Pyodide run.) The result, ``build/pyodide-dist/`` by default, is what
``tests/engines.py`` serves to the browsers at ``/pyodide/`` and what
Node.js, Deno and Bun load from the file system:

* the files of the npm package ``pyodide`` (``node_modules/pyodide``, pinned
  in package.json), copied when that package changes;
* the wheels that ``tests/host/host.mjs`` loads inside Pyodide (``pytest``,
  for its assertion rewriting, and what it depends on) and ``micropip`` (for
  PyScript), at the exact versions that Pyodide's
  own ``pyodide-lock.json`` names, downloaded from PyPI with pip into
  ``build/pyodide-wheels/`` once (the npm package carries no wheels, and
  ``loadPackage`` would otherwise go to the CDN, which is not reachable);
* ``coverage``, which the host loads when the run is measured: its
  pure-Python wheel (``py3-none-any``, without the C tracer; on Python 3.14
  coverage measures with ``sys.monitoring``), at the version that
  pyproject.toml's ``coverage`` dependency group pins for CPython, so that
  both sides write the same data;
* the project's own wheel, rebuilt on every call from a clean copy of the
  sources (pure Python, ``py3-none-any``; about a second);
* ``pyodide-lock.json``: Pyodide's own, with those wheels added by
  pyodide-build's ``pyodide lockfile add-wheels`` (the supported, offline
  way: file name, sha256, imports, dependencies read from the wheels'
  metadata), never edited by hand. The browsers check the sha256 of every
  wheel they load.

Nothing here reaches anything but PyPI, and only for wheels not yet in the
download cache.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NPM_PYODIDE = ROOT / "node_modules" / "pyodide"
DEFAULT_DIST = ROOT / "build" / "pyodide-dist"
WHEEL_CACHE = ROOT / "build" / "pyodide-wheels"

# What the host loads inside Pyodide (pytest, for the scenarios' assertion
# rewriting), and micropip, with which PyScript installs the "packages" of its
# configuration (tests/test_pyscript.py); their dependencies are found from the
# wheels' metadata.
TEST_PACKAGES = ("pytest", "micropip")
# Coverage inside Pyodide (tests/host/runner.py): the release pinned in
# pyproject.toml's `coverage` group, not the lock's (a wasm32 wheel on the CDN).
COVERAGE_GROUP = "coverage"
# The project's wheel is built from a copy of these (its package directory
# comes from pyproject.toml's [tool.setuptools] packages).
PROJECT_FILES = ("pyproject.toml", "README.md", "LICENSE")
PROJECT_NAME = "pyws_shim"
STAMP = ".npm-pyodide.json"


def log(message: str) -> None:
    print(f"pyodide_dist: {message}", flush=True)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def copy_npm_files(dist: Path) -> None:
    """Copy the npm package's files into ``dist`` unless they are there already."""
    package_json = NPM_PYODIDE / "package.json"
    if not package_json.is_file():
        raise SystemExit(
            f"pyodide_dist: {NPM_PYODIDE} is missing: run `npm ci` first (tests/run does)"
        )
    stamp = {
        "version": json.loads(package_json.read_text(encoding="utf-8"))["version"],
        "files": {p.name: sha256_of(p) for p in sorted(NPM_PYODIDE.iterdir()) if p.is_file()},
    }
    stamp_path = dist / STAMP
    if stamp_path.is_file() and json.loads(stamp_path.read_text(encoding="utf-8")) == stamp:
        return
    log(f"copying pyodide {stamp['version']} from {NPM_PYODIDE.relative_to(ROOT)}")
    if dist.exists():
        shutil.rmtree(dist)
    dist.mkdir(parents=True)
    for name in stamp["files"]:
        shutil.copy2(NPM_PYODIDE / name, dist / name)
    stamp_path.write_text(json.dumps(stamp, indent=1), encoding="utf-8")


def cached_wheel(name: str, version: str) -> Path | None:
    from packaging.utils import canonicalize_name, canonicalize_version, parse_wheel_filename

    for path in WHEEL_CACHE.glob("*.whl"):
        wheel_name, wheel_version, _, _ = parse_wheel_filename(path.name)
        if canonicalize_name(wheel_name) == canonicalize_name(name) and canonicalize_version(
            wheel_version
        ) == canonicalize_version(version):
            return path
    return None


def pinned(group: str, name: str) -> str:
    """The version of ``name`` that pyproject.toml's dependency group ``group``
    pins (``name==version``)."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    groups = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    for entry in groups["dependency-groups"][group]:
        if isinstance(entry, str):
            requirement = Requirement(entry)
            if canonicalize_name(requirement.name) == canonicalize_name(name):
                (specifier,) = requirement.specifier
                if specifier.operator == "==":
                    return specifier.version
    raise SystemExit(f"pyodide_dist: pyproject.toml's {group} group pins no {name}==VERSION")


def download_wheels(pins: dict[str, str], python: str) -> dict[str, Path]:
    """The pure-Python wheel of each ``name: version``, from the cache or PyPI."""
    missing = [
        f"{name}=={version}" for name, version in pins.items() if not cached_wheel(name, version)
    ]
    if missing:
        log("downloading from PyPI: " + " ".join(missing))
        WHEEL_CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable, "-m", "pip", "download", "--quiet",
                "--disable-pip-version-check", "--no-deps", "--only-binary=:all:",
                "--python-version", python, "--platform", "any",
                "--dest", str(WHEEL_CACHE), *missing,
            ],
            check=True,
        )  # fmt: skip
    wheels = {}
    for name, version in pins.items():
        path = cached_wheel(name, version)
        if path is None or not path.name.endswith("-none-any.whl"):
            raise SystemExit(f"pyodide_dist: no pure-Python wheel of {name}=={version} on PyPI")
        wheels[name] = path
    return wheels


def build_project_wheel(out: Path) -> Path:
    """``pip wheel --no-deps`` of a clean copy of the project (no stale build/ files)."""
    with tempfile.TemporaryDirectory(prefix="pyws_shim-wheel-") as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        for name in PROJECT_FILES:
            if (ROOT / name).is_file():
                shutil.copy2(ROOT / name, src / name)
        shutil.copytree(
            ROOT / PROJECT_NAME,
            src / PROJECT_NAME,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
        built = Path(tmp) / "wheel"
        subprocess.run(
            [
                sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
                "--no-deps", "--no-build-isolation", "--wheel-dir", str(built), str(src),
            ],
            check=True,
        )  # fmt: skip
        (wheel,) = built.glob("*.whl")
        if not wheel.name.endswith("-py3-none-any.whl"):
            raise SystemExit(f"pyodide_dist: {wheel.name} is not a pure-Python wheel")
        for old in out.glob(f"{PROJECT_NAME}-*.whl"):
            old.unlink()
        return Path(shutil.copy2(wheel, out / wheel.name))


def add_wheels(lock: Path, wheels: list[Path], base: Path) -> Any:
    """``lock`` with ``wheels`` added, by ``pyodide lockfile add-wheels``
    (pyodide-build, in this environment), as a ``PyodideLockSpec``."""
    from pyodide_lock import PyodideLockSpec

    with tempfile.TemporaryDirectory(prefix="pyodide-lock-") as tmp:
        output = Path(tmp) / "pyodide-lock.json"
        subprocess.run(
            [
                str(Path(sys.executable).with_name("pyodide")),
                "lockfile", "add-wheels",
                "--input", str(lock),
                "--output", str(output),
                "--base-path", str(base),
                *map(str, wheels),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        return PyodideLockSpec.from_json(output)


def build(dist: Path) -> None:
    from packaging.utils import canonicalize_name
    from pyodide_lock import PyodideLockSpec

    copy_npm_files(dist)
    npm_lock = PyodideLockSpec.from_json(NPM_PYODIDE / "pyodide-lock.json")
    project = build_project_wheel(dist)

    # Add the test wheels, then whatever their metadata says they need on
    # Pyodide (add-wheels evaluates the markers for the lock's platform),
    # until nothing is missing.
    coverage = canonicalize_name(COVERAGE_GROUP)
    needed: set[str] = {canonicalize_name(name) for name in TEST_PACKAGES} | {coverage}
    while True:
        unknown = needed - set(npm_lock.packages)
        if unknown:
            raise SystemExit(f"pyodide_dist: not in Pyodide's lock file: {sorted(unknown)}")
        pins = {name: npm_lock.packages[name].version for name in sorted(needed)}
        pins[coverage] = pinned(COVERAGE_GROUP, coverage)
        wheels = download_wheels(pins, npm_lock.info.python)
        for wheel in wheels.values():
            if not (dist / wheel.name).is_file():
                shutil.copy2(wheel, dist / wheel.name)
        spec = add_wheels(
            NPM_PYODIDE / "pyodide-lock.json",
            [dist / wheel.name for wheel in wheels.values()] + [project],
            dist,
        )
        depends: set[str] = {
            dep
            for name in [*needed, canonicalize_name(PROJECT_NAME)]
            for dep in spec.packages[name].depends
        }
        if depends <= needed:
            break
        needed |= depends
    spec.check_wheel_filenames()
    spec.to_json(dist / "pyodide-lock.json")
    added = ", ".join(f"{name} {spec.packages[name].version}" for name in sorted(needed))
    log(f"{dist.relative_to(ROOT) if dist.is_relative_to(ROOT) else dist}: {project.name}; {added}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dist", type=Path, default=DEFAULT_DIST, help="output directory")
    build(parser.parse_args().dist.resolve())


if __name__ == "__main__":
    main()
