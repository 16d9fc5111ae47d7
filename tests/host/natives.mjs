// Measures what an engine's native WebSocket does where the engines differ:
// plain JavaScript, no Pyodide and no pyws_shim. RUNTIMES.md's tables come from
// it: `python tests/natives.py ENGINE...` (tests/engines.py starts the engine
// as for the scenarios; in a browser, index.html?entry=natives imports this).
// It reads the loopback servers' URLs from GET /config ({servers}) and posts
// {type: "natives", facts: {check: value}}, then {type: "done"}, to POST /report.

const isScript = typeof window === "undefined" && typeof WorkerGlobalScope === "undefined";
const args = isScript ? (globalThis.Deno?.args ?? process.argv.slice(2)) : [];
const base = isScript ? new URL(args[0]) : new URL("../", import.meta.url);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const post = (message) =>
  fetch(new URL("report", base), { method: "POST", body: JSON.stringify(message) });

// Open `url`; record every event (with readyState) until close, or for `ms`.
function watch(url, { ms = 5000, setup = () => {}, onopen = () => {} } = {}) {
  return new Promise((resolve) => {
    const log = [];
    let ws;
    try {
      ws = new WebSocket(url);
    } catch (error) {
      resolve({ threw: String(error?.name ?? error) });
      return;
    }
    const finish = () => resolve({ events: log, readyState: ws.readyState, ws });
    const timer = setTimeout(finish, ms);
    setup(ws);
    for (const type of ["open", "message", "error", "close"]) {
      ws.addEventListener(type, (event) => {
        const entry = `${type}@${ws.readyState}`;
        if (type === "close") {
          log.push(`${entry}:${event.code}:${event.wasClean}`);
          clearTimeout(timer);
          setTimeout(finish, 50);
        } else {
          log.push(type === "message" ? `${entry}:${typeof event.data === "string" ? event.data : event.data?.constructor?.name}` : entry);
        }
        if (type === "open") {
          onopen(ws, log);
        }
      });
    }
  });
}

async function measure(servers) {
  const url = (route) => servers.ws + route;
  const facts = {};
  // Attributes.
  const fresh = new WebSocket(url("/echo"));
  facts.default_binaryType = fresh.binaryType;
  fresh.binaryType = "nonsense";
  facts.binaryType_after_invalid = fresh.binaryType;
  fresh.close();
  // bufferedAmount right after send(), and after send() while CLOSING.
  const opened = await watch(url("/echo"), {
    ms: 3000,
    onopen: (ws, log) => {
      ws.send("héllo");
      log.push(`buffered:${ws.bufferedAmount}`);
      ws.close();
      ws.send("abcd");
      log.push(`buffered-closing:${ws.bufferedAmount}`);
    },
  });
  facts.bufferedAmount_after_send_6_bytes = opened.events.find((e) => e.startsWith("buffered:"));
  facts.bufferedAmount_after_send_while_closing = opened.events.find((e) => e.startsWith("buffered-closing:"));
  // extensions negotiated with a server that accepts permessage-deflate.
  const echo = await watch(url("/echo"), { ms: 3000, onopen: (ws) => ws.close() });
  facts.extensions = echo.ws.extensions;
  // close() while CONNECTING: events inside the call, and readyState after.
  {
    const ws = new WebSocket(url("/slow-handshake?seconds=1"));
    const inside = [];
    const after = [];
    for (const type of ["open", "error", "close"]) {
      ws.addEventListener(type, () => (inCall ? inside : after).push(`${type}@${ws.readyState}`));
    }
    let inCall = true;
    ws.close();
    inCall = false;
    facts.close_while_connecting_events_inside_call = inside.join(" ");
    await sleep(1500);
    facts.close_while_connecting_events_after = after.join(" ");
    facts.close_while_connecting_final_readyState = ws.readyState;
  }
  // Refused connection, refused handshake.
  facts.refused_connection = (await watch(servers.refused, { ms: 3000 })).events.join(" ");
  facts.refused_handshake = (await watch(url("/reject?status=403"), { ms: 3000 })).events.join(" ");
  // Frames a correct server never sends.
  const raw = async (hex) => (await watch(url(`/raw?hex=${hex}`), { ms: 3000 })).events.join(" ");
  facts.invalid_utf8_first_frame = await raw("8102c328");
  facts.message_then_invalid_utf8 = await raw("810268698102c328");
  facts.masked_frame = await raw("81810000000061");
  facts.close_code_999 = await raw("880203e7");
  // A TCP connection lost without a close frame.
  facts.lost_connection = (await watch(url("/drop?after=0"), { ms: 3000 })).events.join(" ");
  // send() of a number: what comes back.
  facts.send_number = (await watch(url("/echo"), { ms: 3000, onopen: (ws) => ws.send(12) })).events.find((e) => e.startsWith("message")) ?? "nothing";
  // close(undefined, reason), and a space in a host.
  {
    const ws = new WebSocket(url("/echo"));
    try {
      ws.close(undefined, "bye");
      facts.close_undefined_code_with_reason = "no exception";
    } catch (error) {
      facts.close_undefined_code_with_reason = String(error?.name);
    }
  }
  try {
    new WebSocket("ws://foo bar.com/").close();
    facts.space_in_host = "accepted";
  } catch (error) {
    facts.space_in_host = String(error?.name);
  }
  // A non-standard second argument with request headers (Node, Deno, Bun).
  facts.request_headers = await new Promise((resolve) => {
    let ws;
    try {
      ws = new WebSocket(url("/headers"), { headers: { "X-Test": "1", Origin: "http://example.test" } });
    } catch (error) {
      resolve(`threw ${error?.name}`);
      return;
    }
    ws.onmessage = (event) => {
      const headers = JSON.parse(event.data);
      resolve(`x-test=${headers["x-test"] ?? "-"} origin=${headers.origin ?? "-"} user-agent=${headers["user-agent"] ?? "-"}`);
      ws.close();
    };
    ws.onerror = () => resolve("error");
  });
  facts.jspi = typeof WebAssembly.Suspending === "function";
  facts.user_agent = globalThis.navigator?.userAgent ?? "-";
  return facts;
}

// With `natives.py --faults`: each case of the fault peer (tests/faultpeer.py)
// in `faults` ({check: {path, protocols, close}}, built by natives.py from the
// scenarios' frames), its events, then what the peer received: the close frame
// the client sent ("sent=CODE" or "sent=none") and how the client ended the
// TCP connection ("end=fin", "rst", "server" or "open").
async function measureFaults(servers, faults) {
  const facts = {};
  for (const [check, { path, protocols = [], close = null, send = 0, wait = 0 }] of Object.entries(faults)) {
    const id = `natives-${Date.now()}-${Math.random().toString(16).slice(2)}`;
    const url = `${servers.faults}${path}${path.includes("?") ? "&" : "?"}id=${id}`;
    const seen = await new Promise((resolve) => {
      const log = [];
      const ws = new WebSocket(url, protocols);
      const timer = setTimeout(() => {
        log.push(`(no close in 3 s, readyState ${ws.readyState})`);
        ws.close();
        resolve(log);
      }, 3000);
      for (const type of ["open", "message", "error", "close"]) {
        ws.addEventListener(type, (event) => {
          const entry = `${type}@${ws.readyState}`;
          if (type === "close") {
            log.push(`${entry}:${event.code}:${event.wasClean}:${JSON.stringify(event.reason)}`);
            clearTimeout(timer);
            setTimeout(() => resolve(log), 50);
          } else {
            log.push(
              type === "message"
                ? `${entry}:${JSON.stringify(event.data)}`
                : type === "error" && event.message
                  ? `${entry}:${JSON.stringify(event.message)}`
                  : type === "open" && (ws.protocol || ws.extensions)
                    ? `${entry}:${JSON.stringify([ws.protocol, ws.extensions])}`
                    : entry,
            );
          }
          if (type === "open" && close !== null) {
            ws.close(...close);
          }
          if (type === "open" && send) {
            // `send` bytes, then bufferedAmount at once and half a second later, then close().
            ws.send(new Uint8Array(send));
            log.push(`buffered:${ws.bufferedAmount}`);
            setTimeout(() => {
              log.push(`buffered-0.5s:${ws.bufferedAmount}`);
              ws.close();
            }, 500);
          }
        });
      }
    });
    await sleep(wait); // before asking for the record (which ends a connection the client keeps)
    const record = await new Promise((resolve) => {
      const ws = new WebSocket(`${servers.faults}/report?id=${id}`);
      ws.onmessage = (event) => resolve(JSON.parse(event.data));
      ws.onclose = () => resolve({ error: "no report" });
    });
    const sent = record.close ? `${record.close.code}:${JSON.stringify(record.close.reason)}` : "none";
    facts[check] = `${seen.join(" ")} | sent=${sent} end=${record.end}${record.error ? ` ${record.error}` : ""}`;
  }
  return facts;
}

try {
  const config = await (await fetch(new URL("config", base))).json();
  const facts = config.faults ? await measureFaults(config.servers, config.faults) : await measure(config.servers);
  await post({ type: "natives", facts });
  await post({ type: "done" });
} catch (error) {
  await post({ type: "fatal", message: String(error?.stack ?? error) });
}
if (isScript) {
  process.exit(0);
}
