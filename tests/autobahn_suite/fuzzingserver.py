"""Autobahn|Testsuite's fuzzingserver on loopback (runs under Python 2.7).

``wstest -m fuzzingserver`` listens on every interface (0.0.0.0) on the port
of its spec's URL, and has no option to change that. This launcher builds the
same server (autobahntestsuite's ``FuzzingServerFactory``) and listens on
127.0.0.1 only, on a free port the system picks; it writes that port to a
file once it listens. It starts no web server (``wstest -u 0``).

Run by tests/autobahn_suite/client.py with build/autobahn/py27/bin/python::

    fuzzingserver.py versions             # autobahntestsuite's, autobahn's... as JSON
    fuzzingserver.py list SPEC            # the spec's case IDs, in the server's order
    fuzzingserver.py serve SPEC PORTFILE  # listen until SIGTERM or SIGINT

The spec is wstest's (``cases``, ``exclude-cases``, ``outdir``, ``options``);
its ``url`` is replaced by the one with the port it listens on. The code
is valid Python 2.7 and Python 3, so that ruff and mypy check it too (with
type comments).
"""

import json
import os
import platform
import sys

from autobahntestsuite import fuzzing  # type: ignore[import-not-found, unused-ignore]
from autobahntestsuite.case import (  # type: ignore[import-not-found, unused-ignore]
    CaseBasename,
    CaseCategories,
    Cases,
    CaseSetname,
    CaseSubCategories,
)
from autobahntestsuite.caseset import CaseSet  # type: ignore[import-not-found, unused-ignore]

LOOPBACK = "127.0.0.1"


def load_spec(path):
    # type: (str) -> dict[str, object]
    with open(path) as spec_file:
        spec = json.load(spec_file)  # type: dict[str, object]
    return spec


def list_cases(spec):
    # type: (dict[str, object]) -> list[str]
    """The case IDs the server runs for ``spec``, in its order (``runCase?case=N`` is the Nth)."""
    case_set = CaseSet(CaseSetname, CaseBasename, Cases, CaseCategories, CaseSubCategories)
    cases = case_set.parseSpecCases(spec)  # type: list[str]
    return cases


def serve(spec, port_file):
    # type: (dict[str, object], str) -> None
    from twisted.internet import reactor  # type: ignore[import-not-found, unused-ignore]

    factory = fuzzing.FuzzingServerFactory(spec)
    listening = reactor.listenTCP(0, factory, 50, LOOPBACK)
    port = listening.getHost().port  # type: int
    # The server checks the port in the Host header against its URL's.
    factory.setSessionParameters(
        url="ws://" + LOOPBACK + ":" + str(port),
        protocols=factory.protocols,
        server=factory.server,
        headers=factory.headers,
    )
    partial = port_file + ".part"
    with open(partial, "w") as out:
        out.write(str(port) + "\n")
    os.rename(partial, port_file)  # the reader sees the whole number or nothing
    sys.stdout.write("Listening on " + LOOPBACK + ":" + str(port) + "\n")
    sys.stdout.flush()
    reactor.run()


def versions():
    # type: () -> dict[str, str]
    import autobahn  # type: ignore[import-not-found, unused-ignore]
    import autobahntestsuite  # type: ignore[import-not-found, unused-ignore]
    import twisted  # type: ignore[import-not-found, unused-ignore]

    return {
        "autobahntestsuite": str(autobahntestsuite.version),
        "autobahn": str(autobahn.version),
        "twisted": str(twisted.__version__),
        "python27": platform.python_version(),
    }


def main(argv):
    # type: (list[str]) -> int
    if len(argv) == 2 and argv[1] == "versions":
        json.dump(versions(), sys.stdout)
        return 0
    if len(argv) == 3 and argv[1] == "list":
        sys.stdout.write("".join(case + "\n" for case in list_cases(load_spec(argv[2]))))
        return 0
    if len(argv) == 4 and argv[1] == "serve":
        serve(load_spec(argv[2]), argv[3])
        return 0
    sys.stderr.write("usage: fuzzingserver.py versions | list SPEC | serve SPEC PORTFILE\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
