"""Measure each engine's native WebSocket where the engines differ (RUNTIMES.md).

Plain JavaScript (``tests/host/natives.mjs``), no Pyodide and no pyws_shim,
against the same loopback servers as the scenarios, in the engines of
``tests/engines.py``'s table, started the same way::

    .venv/bin/python tests/natives.py                 # every engine
    .venv/bin/python tests/natives.py firefox deno    # some
    .venv/bin/python tests/natives.py --faults deno   # the fault peer's cases instead

It prints one table: a row per check, a column per engine. Run it after
``./tests/run`` has set everything up. With ``--faults`` it opens each case
of ``FAULT_CASES`` on the fault peer (``tests/faultpeer.py``, the frames the
fault scenarios send), and reports the events and what the peer received.
"""

from __future__ import annotations

import argparse
import queue
import struct
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from engines import ENGINES, LOAD_TIMEOUT, Engine, Run, serve
from faultpeer import FaultPeer
from scenarios._support import frame
from scenarios.faults import BINARY, CLOSE, CONT, PING, PONG, TEXT, close_frame, hexed
from servers import LoopbackServers


def _frames(*data: bytes) -> dict[str, Any]:
    return {"path": "/case/frames?hex=" + hexed(*data)}


def _handshake(response: str, protocols: list[str] | None = None) -> dict[str, Any]:
    return {"path": f"/case/handshake?response={response}", "protocols": protocols or []}


# The fault peer's cases natives.mjs opens with --faults: {check: {path,
# protocols, close, send, wait}}: ``close``, the arguments of close() once
# open; ``send``, that many bytes sent once open (bufferedAmount is noted at
# once and half a second later, then close()); ``wait``, milliseconds before
# the record is asked for (the peer holds a connection the client keeps open
# until then).
FAULT_CASES: dict[str, dict[str, Any]] = {
    **{
        f"close_code_{code}": _frames(close_frame(code, b"why"))
        for code in (0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535)
    },
    **{
        f"close_code_{code}_reason_e_acute": _frames(close_frame(code, "ré".encode()))
        for code in (*range(1000, 1004), *range(1007, 1015), 3000, 4999)
    },
    "close_frame_without_code": _frames(close_frame(None)),
    "close_frame_then_fin": {
        "path": "/case/frames?then=fin&hex="
        + hexed(frame(TEXT, b"last"), close_frame(4001, b"going"))
    },
    "one_byte_close_payload": _frames(frame(CLOSE, b"\x03")),
    "close_reason_not_utf8": _frames(close_frame(1000, b"\xc3\x28")),
    "rsv1": _frames(frame(TEXT, b"a", rsv=4)),
    "reserved_data_opcode_3": _frames(frame(0x3, b"a")),
    "reserved_control_opcode_b": _frames(frame(0xB, b"a")),
    "masked_text_frame": _frames(frame(TEXT, b"masked", mask=b"\x01\x02\x03\x04")),
    "ping_of_126_bytes": _frames(frame(PING, b"p" * 126)),
    "pong_of_126_bytes": _frames(frame(PONG, b"p" * 126)),
    "close_of_126_bytes": _frames(frame(CLOSE, struct.pack("!H", 1000) + b"r" * 124)),
    "fragmented_close": _frames(frame(CLOSE, struct.pack("!H", 1000), fin=False), frame(CONT, b"")),
    "fragmented_ping": _frames(frame(PING, b"p", fin=False), frame(CONT, b"q")),
    "continuation_without_a_message": _frames(frame(CONT, b"a")),
    "new_message_inside_a_fragmented_one": _frames(frame(TEXT, b"a", fin=False), frame(TEXT, b"b")),
    "length_with_the_top_bit_set": _frames(frame(BINARY, length=1 << 63)),
    "invalid_utf8_text": _frames(frame(TEXT, b"\xc3\x28")),
    "invalid_utf8_across_fragments": _frames(
        frame(TEXT, b"\xe2\x82", fin=False), frame(CONT, b"\x28")
    ),
    "utf8_sequence_cut_by_the_end_of_a_fragmented_message": _frames(
        frame(TEXT, b"a\xe2", fin=False), frame(CONT, b"\x82")
    ),
    "message_then_invalid_utf8": _frames(frame(TEXT, b"ok"), frame(TEXT, b"\xc3\x28")),
    **{
        f"handshake_{response}": _handshake(response)
        for response in (
            "status-200",
            "status-302",
            "garbage",
            "no-accept",
            "wrong-accept",
            "no-upgrade",
            "wrong-upgrade",
            "no-connection",
            "wrong-connection",
            "unrequested-protocol",
            "unrequested-extension",
            "connection-list",
            "many-headers",
        )
    },
    "handshake_protocol_c_offered_a_b": _handshake("protocol-c", ["a", "b"]),
    **{
        f"handshake_{response}_then_20_s": {**_handshake(response), "wait": 20_000}
        for response in ("status-200", "status-403", "status-500", "garbage")
    },
    "stalled_server_32_MiB": {"path": "/case/stop-reading", "send": 32 * 2**20},
    **{
        f"drop_{stage}_{how}": {"path": f"/case/drop?stage={stage}&how={how}"}
        for stage in ("before-response", "after-open")
        for how in ("fin", "rst")
    },
    **{
        f"drop_after_client_close_{how}": {
            "path": f"/case/drop?stage=after-client-close&how={how}",
            "close": [4000, "bye"],
        }
        for how in ("fin", "rst")
    },
}


def measure(engine: Engine, config: dict[str, Any]) -> dict[str, Any]:
    """The facts natives.mjs measured in ``engine`` (or why there are none)."""
    missing = engine.missing()
    if missing:
        return {"error": "; ".join(missing)}
    run = Run(engine.name)
    facts: dict[str, Any] = {"error": "no answer"}
    with (
        serve(config, run) as (base, messages),
        engine.start(base, "natives", run.log) as running,
    ):
        deadline = time.monotonic() + LOAD_TIMEOUT
        while time.monotonic() < deadline and running():
            try:
                message = messages.get(timeout=1.0)
            except queue.Empty:
                continue
            if message.get("type") == "natives":
                facts = message["facts"]
            elif message.get("type") == "done":
                break
            else:
                facts = {"error": str(message.get("message", message))}
                break
    return facts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("engines", nargs="*", help=f"some of: {' '.join(ENGINES)}")
    parser.add_argument(
        "--faults", action="store_true", help="the fault peer's cases (FAULT_CASES) instead"
    )
    arguments = parser.parse_args()
    names = arguments.engines or list(ENGINES)
    unknown = [name for name in names if name not in ENGINES]
    if unknown:
        parser.error(f"unknown engines: {' '.join(unknown)}")
    loopback = LoopbackServers()
    peer = FaultPeer()
    servers = loopback.start()
    try:
        servers.update(peer.start())
        config: dict[str, Any] = {"servers": servers}
        if arguments.faults:
            config["faults"] = FAULT_CASES
        results = {name: measure(ENGINES[name], config) for name in names}
    finally:
        peer.stop()
        loopback.stop()
    checks = list(dict.fromkeys(key for facts in results.values() for key in facts))
    for check in checks:
        print(f"## {check}")
        for name, facts in results.items():
            print(f"  {name:15} {facts.get(check, '-')}")


if __name__ == "__main__":
    main()
