// The demo page: Pyodide runs pyws_shim/console.py (shown on the page), and
// this file only wires the page's controls to it. Everything WebSocket is
// Python: pyws_shim.WebSocket wraps the browser's own.
//
// Loading: Pyodide from the npm package (/pyodide/), then pyws_shim from its
// wheel (/config.json says which), all from the local server: nothing from a
// CDN. The server is `python -m pyws_shim serve` (pyws_shim/demo_server.py).

import { loadPyodide } from "/pyodide/pyodide.mjs";

// The Python side of the page: one module-level Console at a time. JavaScript
// keeps only the three functions below (proxies made once, for the page's
// lifetime); Consoles never cross into JavaScript, so replacing one leaves
// no PyProxy behind, and the old socket's own proxies go when it closes.
const PAGE_PY = `
from pyodide.ffi import to_js

from pyws_shim import DOMException, WebSocket
from pyws_shim.console import STATE_NAMES, Console, describe_exception

current = None


def connect(url, output):
    """A Console for url, replacing the current one; False for a bad URL."""
    global current
    try:
        console = Console(url, output)
    except (DOMException, TypeError) as exc:
        # The shim's own exception, as the terminal client shows it.
        output("exception", describe_exception(exc))
        return False
    previous, current = current, console
    if previous is not None and previous.ws.readyState in (WebSocket.CONNECTING, WebSocket.OPEN):
        previous.ws.close(1000, "replaced by a new connection")
    return True


def handle_line(line):
    """A line for the current Console: text, or /binary HEX, /close CODE REASON."""
    if current is None:
        return False
    current.handle_line(line)
    return True


def status():
    """[readyState, its name, bufferedAmount] as a JavaScript array, or None."""
    if current is None:
        return None
    ws = current.ws
    return to_js([ws.readyState, STATE_NAMES[ws.readyState], ws.bufferedAmount])
`;

const $ = (id) => document.getElementById(id);
const controls = [
  "url", "connect", "message", "send", "hex", "send-binary",
  "close-code", "close-reason", "close",
].map($);

let python = null; // {connect, handleLine, status}: the PAGE_PY functions
let connections = 0; // each Console's lines carry its number

// The event log.

function timeOfDay() {
  const now = new Date();
  const pad = (n, width = 2) => String(n).padStart(width, "0");
  return `${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}` +
    `.${pad(now.getMilliseconds(), 3)}`;
}

function appendLine(connection, kind, text) {
  const log = $("log");
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 8;
  const item = document.createElement("li");
  item.className = `entry kind-${kind}`;
  item.dataset.kind = kind;
  if (connection !== null) item.dataset.connection = String(connection);
  const parts = [
    ["time", timeOfDay()],
    ["connection", connection === null ? "" : `#${connection}`],
    ["kind", kind],
    ["text", text],
  ];
  for (const [name, value] of parts) {
    const span = document.createElement("span");
    span.className = name;
    span.textContent = value;
    item.append(span);
  }
  log.append(item);
  if (atBottom) log.scrollTop = log.scrollHeight;
}

// Anything that goes wrong in the page itself (never expected) is shown too.
window.addEventListener("error", (event) => appendLine(null, "page-error", String(event.message)));
window.addEventListener("unhandledrejection", (event) =>
  appendLine(null, "page-error", String(event.reason?.message ?? event.reason)));

// The controls.

function connect() {
  const number = ++connections;
  // output(kind, text), as console.py calls it: one log line.
  const output = (kind, text) => appendLine(number, kind, text);
  $("log").dataset.latestConnection = String(number);
  python.connect($("url").value.trim(), output);
  updateStatus();
}

function handleLine(line) {
  if (!python.handleLine(line)) appendLine(null, "info", "not connected: enter a URL and press Connect");
  updateStatus();
}

function closeLine() {
  const code = $("close-code").value.trim();
  const reason = $("close-reason").value;
  // "/close CODE REASON"; a reason alone closes with 1000, as close(reason=...) does.
  if (reason.trim()) return `/close ${code || "1000"} ${reason}`;
  return code ? `/close ${code}` : "/close";
}

function onSubmit(formId, action) {
  $(formId).addEventListener("submit", (event) => {
    event.preventDefault();
    if (python !== null) action();
  });
}

onSubmit("connect-form", connect);
onSubmit("message-form", () => {
  const input = $("message");
  handleLine(input.value);
  input.value = "";
});
onSubmit("binary-form", () => handleLine(`/binary ${$("hex").value.trim()}`));
onSubmit("close-form", () => handleLine(closeLine()));
$("clear-log").addEventListener("click", () => $("log").replaceChildren());

// The live status: polled, since bufferedAmount changes without an event.

let shownStatus = "";

function updateStatus() {
  if (python === null) return;
  const status = python.status(); // [readyState, name, bufferedAmount] or undefined
  const key = status ? status.join(" ") : "";
  if (key === shownStatus) return;
  shownStatus = key;
  const state = $("ready-state");
  if (!status) {
    state.textContent = "–";
    state.className = "state state-none";
    $("buffered-amount").textContent = "–";
    return;
  }
  const [readyState, name, bufferedAmount] = status;
  state.textContent = `${readyState} ${name}`;
  state.className = `state state-${name.toLowerCase()}`;
  state.dataset.readyState = String(readyState);
  $("buffered-amount").textContent = `${bufferedAmount}`;
  $("buffered-amount").dataset.bufferedAmount = String(bufferedAmount);
}

// Start-up.

function setLoading(text) {
  $("loading-text").textContent = text;
}

async function fetchOk(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response;
}

async function showSource() {
  try {
    const response = await fetchOk("/source/console.py");
    $("source-code").textContent = await response.text();
  } catch (error) {
    $("source-code").textContent = `Could not load pyws_shim/console.py (${error.message}).`;
  }
}

async function start() {
  const config = await (await fetchOk("/config.json")).json();
  if (!config.wheel) {
    throw new Error("the server has no pyws_shim wheel: start it with ./web/demo, which builds it");
  }
  $("url").value = config.echo;

  setLoading("Loading Pyodide…");
  const pyodide = await loadPyodide({ indexURL: "/pyodide/" });

  setLoading("Installing pyws_shim…");
  const problems = [];
  // The wheel is pure Python (py3-none-any): Pyodide installs it from its URL.
  // loadPackage reports failures through errorCallback rather than throwing.
  await pyodide.loadPackage(new URL(config.wheel, location.href).href, {
    messageCallback: () => {},
    errorCallback: (message) => problems.push(message),
  });
  if (problems.length) throw new Error(problems.join("; "));

  setLoading("Starting the console…");
  const namespace = pyodide.globals.get("dict")();
  pyodide.runPython(PAGE_PY, { globals: namespace });
  python = {
    connect: namespace.get("connect"),
    handleLine: namespace.get("handle_line"),
    status: namespace.get("status"),
  };
  namespace.destroy();
  const versions = pyodide.runPython(
    "import sys, pyws_shim; f'Python {sys.version.split()[0]}, pyws_shim {pyws_shim.__version__}'");
  $("runtime").textContent = `Running: Pyodide ${pyodide.version} (${versions}) in this page.`;

  for (const control of controls) control.disabled = false;
  document.body.dataset.state = "ready";
  setInterval(updateStatus, 100);
  connect();
  $("message").focus();
}

showSource();
start().catch((error) => {
  document.body.dataset.state = "error";
  setLoading(`Could not start: ${error.message}`);
  appendLine(null, "page-error", String(error.message ?? error));
});
