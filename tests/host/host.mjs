// The one host of pyws_shim's test scenarios inside Pyodide, in every engine:
// a browser page (index.html imports it), a module Web Worker (index.html?mode=worker
// starts it as one), or a script of Node.js, Deno or Bun:
//
//   node host.mjs BASE_URL DIST_DIR          (deno run --allow-all ..., bun ...)
//
// BASE_URL is the host's HTTP server (tests/engines.py): GET /config is the run's
// configuration ({root, files, installer, servers, names, timeout, coverage}, see
// runner.py),
// GET /host/runner.py the Python runner, POST /report takes each message, in order.
// In a browser, Pyodide comes from that server (/pyodide/); in a script, from
// DIST_DIR on the file system (Node.js cannot import modules over HTTP).
// Every message is a JSON object, one of:
//   {type: "loaded", seconds}                  Pyodide, pyws_shim and pytest are in
//   {type: "host", facts}                      what the runner sees of its host
//   {type: "result", name, outcome, message, output, seconds}   one per scenario
//   {type: "output", text}                     Pyodide's stdout/stderr outside a scenario
//   {type: "coverage", data}                   when the run is measured, after the last
//                                              result: coverage's data file, in base64
//   {type: "done", seconds}                    the last one, after a complete run
//   {type: "fatal", message}                   the last one, when the run broke off
// each with `seq`, its place in the stream.

const started = performance.now();
const seconds = () => Math.round(performance.now() - started) / 1000;
const isScript = typeof window === "undefined" && typeof WorkerGlobalScope === "undefined";
const args = isScript ? (globalThis.Deno?.args ?? process.argv.slice(2)) : [];
const base = isScript ? new URL(args[0]) : new URL("../", import.meta.url);

// The messages go one after the other, each POST after the previous one's answer.
let seq = 0;
let sending = Promise.resolve();
function post(message) {
  const body = JSON.stringify({ seq: seq++, ...message });
  sending = sending.then(() =>
    fetch(new URL("report", base), { method: "POST", body }).then((r) => r.arrayBuffer()),
  );
  return sending;
}
const output = (text) => post({ type: "output", text });

async function fetchText(path) {
  const response = await fetch(new URL(path, base));
  if (!response.ok) {
    throw new Error(`${path}: HTTP ${response.status}`);
  }
  return response.text();
}

async function main() {
  // In a script, a path of the file system (Pyodide reads its files with node:fs).
  const indexURL = isScript ? args[1].replace(/\/?$/, "/") : new URL("pyodide/", base).href;
  const module = isScript ? "file://" + encodeURI(indexURL) : indexURL;
  const { loadPyodide } = await import(module + "pyodide.mjs");
  const [pyodide, config, runnerSource] = await Promise.all([
    loadPyodide({ indexURL, stdout: output, stderr: output }),
    fetchText("config").then(JSON.parse),
    fetchText("host/runner.py"),
  ]);
  // loadPackage reports a missing or corrupt wheel through its error callback; it does not throw.
  const errors = [];
  // coverage, when the run is measured: runner.py starts it before pyws_shim is imported.
  const packages = ["pyws_shim", "pytest", ...(config.coverage ? ["coverage"] : [])];
  await pyodide.loadPackage(packages, {
    messageCallback: () => {},
    errorCallback: (message) => errors.push(message),
  });
  if (errors.length > 0) {
    throw new Error(`loadPackage failed: ${errors.join("; ")}`);
  }
  // At the host's path, so that tracebacks name the same files as on the host.
  const dir = `${config.root}/host`;
  pyodide.FS.mkdirTree(dir);
  pyodide.FS.writeFile(`${dir}/runner.py`, runnerSource);
  pyodide.runPython(`import sys; sys.path.insert(0, ${JSON.stringify(dir)})`);
  post({ type: "loaded", seconds: seconds() });
  const runner = pyodide.pyimport("runner");
  try {
    await runner.run(JSON.stringify(config), (text) => post(JSON.parse(text)));
  } finally {
    runner.destroy();
  }
}

try {
  await main();
  await post({ type: "done", seconds: seconds() });
} catch (error) {
  // A PythonError's message is the Python traceback; its JavaScript stack adds nothing.
  const python = error?.constructor?.name === "PythonError";
  await post({ type: "fatal", message: python ? error.message : String(error?.stack ?? error) });
}
if (isScript) {
  // A pending asyncio timer would keep the runtime alive.
  process.exit(0);
}
