# The set-up shared by the test command (tests/run) and the demo command
# (web/demo): sourced by both, from the repository's root, under `set -euo pipefail`.
# Each step does its work only when it is needed (first run, or its inputs changed):
#
#   setup_venv           .venv: the package, editable, with the `dev` dependency group
#                        (pinned in pyproject.toml), which includes the setuptools that
#                        builds its wheel
#   setup_python_env     any other virtual environment (the CPython stages' build/cpython*)
#   setup_node_modules   node_modules: `npm ci` (Pyodide, Node 24, Node 22, Deno, Bun,
#                        @pyscript/core), when
#                        package-lock.json changed
#   setup_chromium       Debian's chromium (apt-get), when /usr/bin/chromium is missing
#   setup_pyodide_dist   build/pyodide-dist: the offline Pyodide distribution with the
#                        project's wheel (tests/pyodide_dist.py, run from build/pyodide-tools,
#                        a Python >= 3.12 environment with the `pyodide-dist` group); needs
#                        setup_node_modules first
#   setup_firefox        Debian's firefox-esr (apt-get), when /usr/bin/firefox-esr is missing
#   setup_webkit         Debian's webkit2gtk-driver (WebKitWebDriver, and WebKitGTK's
#                        MiniBrowser through libwebkit2gtk-4.1-0) and xvfb, when missing
#   build_demo_wheel     build/demo-wheels: pyws_shim's wheel, which the demo page
#                        installs into Pyodide (always rebuilt; demo_wheel_is_fresh
#                        tells whether the one there is older than the sources)
#   setup_autobahn       build/autobahn/py27: Autobahn|Testsuite (Python 2.7), when its
#                        requirements files changed (tests/run only)
#
# Messages name the command that sourced this file ($0).

python_at_least() { # python_at_least CANDIDATE MINOR: is CANDIDATE a python3.MINOR or newer?
    command -v "$1" >/dev/null 2>&1 &&
        "$1" -c "import sys; sys.exit(sys.version_info < (3, $2))" 2>/dev/null
}

pick_python() {
    for candidate in "${PYTHON:-}" python3 python3.13 python3.12 python3.11; do
        [ -n "$candidate" ] || continue
        if python_at_least "$candidate" 11; then
            echo "$candidate"
            return
        fi
    done
    echo "$0: Python 3.11 or newer is needed (set PYTHON=...)" >&2
    exit 1
}

# pyodide-build 0.39 and pyodide-lock 0.2 need Python >= 3.12 (pyenv's, if python3 is older).
pick_python312() {
    for candidate in "${PYTHON312:-}" python3 python3.14 python3.13 python3.12 \
        "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python; do
        [ -n "$candidate" ] || continue
        if python_at_least "$candidate" 12; then
            echo "$candidate"
            return
        fi
    done
    echo "$0: the Pyodide distribution needs Python 3.12 or newer (set PYTHON312=...)" >&2
    exit 1
}

apt_install() {
    echo "== set-up: apt-get install $*"
    local apt=(apt-get -o DPkg::Lock::Timeout=300 -qq)
    [ "$(id -u)" -eq 0 ] || apt=(sudo "${apt[@]}")
    "${apt[@]}" update
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y "$@" >/dev/null
}

# pip, pinned: 25.1 is the first to install PEP 735 dependency groups (--group).
PIP_PIN="pip==26.3"

# setup_python_env DIR PYTHON PIP-ARGS...: the virtual environment DIR, made with
# PYTHON, with pip at $PIP_PIN, then `pip install PIP-ARGS` (for example
# `-e . --group dev`: the package and pyproject.toml's pinned dependency groups).
# Reinstalled when pyproject.toml (the pins) or this recipe changes.
setup_python_env() {
    local dir=$1 python=$2
    shift 2
    if [ ! -x "$dir/bin/python" ]; then
        echo "== set-up: creating $dir with $python"
        "$python" -m venv "$dir"
    fi
    if [ ! -f "$dir/.installed" ] || [ pyproject.toml -nt "$dir/.installed" ] ||
        [ tests/setup.bash -nt "$dir/.installed" ]; then
        echo "== set-up: pip install $* into $dir"
        "$dir/bin/python" -m pip install --quiet --disable-pip-version-check "$PIP_PIN"
        "$dir/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
        touch "$dir/.installed"
    fi
}

# .venv: the package (editable, with its socks extra) and the `dev` group: the
# test tools, the linters and the setuptools that builds the wheel without
# build isolation.
setup_venv() {
    setup_python_env .venv "$(pick_python)" -e '.[socks]' --group dev
}

# find_python 3.12: the path of a Python 3.12 (pyenv's, else one on PATH);
# fails, printing nothing, when there is none.
find_python() {
    local candidate
    for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$1".*/bin/python "python$1"; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c "import sys; sys.exit(f'{sys.version_info[0]}.{sys.version_info[1]}' != '$1')" \
                2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

setup_node_modules() {
    if [ ! -f node_modules/.package-lock.sha256 ] ||
        ! sha256sum --check --status node_modules/.package-lock.sha256 2>/dev/null; then
        command -v npm >/dev/null 2>&1 || apt_install npm
        echo "== set-up: npm ci"
        npm ci --no-audit --no-fund --loglevel=error
        sha256sum package-lock.json >node_modules/.package-lock.sha256
    fi
}

# bench/node_modules: the echo server of the benchmarks and the load test (ws and
# bufferutil, pinned in bench/package-lock.json), when that lock file changed.
setup_bench_node_modules() {
    if [ ! -f bench/node_modules/.package-lock.sha256 ] ||
        ! sha256sum --check --status bench/node_modules/.package-lock.sha256 2>/dev/null; then
        echo "== set-up: npm ci in bench/"
        (cd bench && npm ci --no-audit --no-fund --loglevel=error)
        sha256sum bench/package-lock.json >bench/node_modules/.package-lock.sha256
    fi
}

setup_chromium() {
    [ -x /usr/bin/chromium ] || apt_install chromium
}

setup_pyodide_dist() {
    local tools=build/pyodide-tools
    setup_python_env "$tools" "$(pick_python312)" --group pyodide-dist
    "$tools/bin/python" tests/pyodide_dist.py --dist build/pyodide-dist
}

setup_firefox() {
    [ -x /usr/bin/firefox-esr ] || apt_install firefox-esr
}

setup_webkit() {
    if [ ! -x /usr/bin/WebKitWebDriver ] || [ ! -x /usr/bin/Xvfb ] ||
        [ ! -x /usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser ]; then
        apt_install webkit2gtk-driver xvfb
    fi
}

DEMO_WHEELS=build/demo-wheels
WHEEL_SOURCES=(pyproject.toml README.md LICENSE pyws_shim)

# Whether build/demo-wheels has a wheel newer than every source file it is built from.
demo_wheel_is_fresh() {
    local wheel
    wheel=$(find "$DEMO_WHEELS" -maxdepth 1 -name 'pyws_shim-*-py3-none-any.whl' 2>/dev/null | head -n 1)
    [ -n "$wheel" ] &&
        [ -z "$(find "${WHEEL_SOURCES[@]}" -name __pycache__ -prune -o -newer "$wheel" -print -quit)" ]
}

# pyws_shim's wheel (pure Python, py3-none-any), built from a clean copy of the
# sources (no stale build/ or __pycache__ files), replacing the older ones.
build_demo_wheel() {
    echo "== set-up: building pyws_shim's wheel into $DEMO_WHEELS"
    (
        tmp=$(mktemp -d "${TMPDIR:-/tmp}/pyws_shim-wheel.XXXXXX")
        trap 'rm -rf "$tmp"' EXIT
        mkdir "$tmp/src"
        tar --create --exclude=__pycache__ --exclude='*.pyc' "${WHEEL_SOURCES[@]}" |
            tar --extract --directory "$tmp/src"
        .venv/bin/python -m pip wheel --quiet --disable-pip-version-check --no-deps \
            --no-build-isolation --wheel-dir "$tmp/wheel" "$tmp/src"
        mkdir -p "$DEMO_WHEELS"
        rm -f "$DEMO_WHEELS"/pyws_shim-*.whl
        mv "$tmp"/wheel/pyws_shim-*-py3-none-any.whl "$DEMO_WHEELS"/
    )
}

AUTOBAHN=build/autobahn
AUTOBAHN_REQUIREMENTS=(tests/autobahn_suite/requirements-virtualenv.txt
    tests/autobahn_suite/requirements-py27.txt)

# setup_autobahn: build/autobahn/py27, a Python 2.7 environment with Autobahn|Testsuite
# (tests/autobahn_suite/requirements-py27.txt), made by virtualenv 20.21 from a
# Python 3 environment of its own (build/autobahn/tools); redone when a requirements
# file changes. Python 2.7 comes from pyenv ($PYTHON27, or pyenv's 2.7.18). It fails
# (status 1, with the reason on stderr) when that is missing or an install fails.
setup_autobahn() {
    if [ -f "$AUTOBAHN/.installed" ] &&
        [ -z "$(find "${AUTOBAHN_REQUIREMENTS[@]}" -newer "$AUTOBAHN/.installed" -print -quit)" ]; then
        return 0
    fi
    local py27=${PYTHON27:-${PYENV_ROOT:-$HOME/.pyenv}/versions/2.7.18/bin/python}
    if ! "$py27" -c 'import sys; sys.exit(sys.version_info[:2] != (2, 7))' 2>/dev/null; then
        echo "$0: Autobahn|Testsuite needs Python 2.7, and $py27 is not one" \
            "(install pyenv's 2.7.18, or set PYTHON27=/path/to/python2.7)" >&2
        return 1
    fi
    echo "== set-up: Autobahn|Testsuite into $AUTOBAHN/py27 (Python 2.7)"
    local quiet=(--quiet --disable-pip-version-check)
    rm -rf "$AUTOBAHN/tools" "$AUTOBAHN/py27" "$AUTOBAHN/.installed"
    # pip warns of every configured index directory that lacks a package: not shown.
    local unseen='/is ignored: it is neither a file nor a directory/d'
    "$(pick_python)" -m venv "$AUTOBAHN/tools" &&
        "$AUTOBAHN/tools/bin/python" -m pip install "${quiet[@]}" \
            -r "${AUTOBAHN_REQUIREMENTS[0]}" 2>&1 | sed "$unseen" &&
        "$AUTOBAHN/tools/bin/virtualenv" --quiet --no-periodic-update \
            --app-data "$AUTOBAHN/app-data" --python "$py27" "$AUTOBAHN/py27" &&
        "$AUTOBAHN/py27/bin/python" -m pip install "${quiet[@]}" --no-python-version-warning \
            -r "${AUTOBAHN_REQUIREMENTS[1]}" 2>&1 | sed "$unseen" || {
        echo "$0: installing Autobahn|Testsuite into $AUTOBAHN failed" >&2
        return 1
    }
    touch "$AUTOBAHN/.installed"
}
