// A module Web Worker that runs pyws_shim's test scenarios inside Pyodide
// (started by index.html, driven by tests/test_in_worker.py).
//
// Pyodide starts loading at once, from the offline distribution
// (build/pyodide-dist, served at ../pyodide/). The configuration comes by
// postMessage: {root, files, servers, names, timeout} (see runner.py). The
// worker then loads pyws_shim and pytest (for its assertion rewriting) from
// the distribution's wheels, writes runner.py into Pyodide's file system and
// runs it. Every message it posts back is one of:
//   {type: "loaded", seconds}                      Pyodide and the packages are in
//   {type: "worker-check", outcome, message, facts}
//   {type: "result", name, outcome, message, output, seconds}   one per scenario
//   {type: "output", text}                         Pyodide's stdout/stderr outside a scenario
//   {type: "done", seconds}                        the last one, after a complete run
//   {type: "fatal", message}                       the last one, when the run broke off
import { loadPyodide } from "../pyodide/pyodide.mjs";

const started = performance.now();
const seconds = () => Math.round(performance.now() - started) / 1000;
const post = (message) => self.postMessage(message);
const output = (text) => post({ type: "output", text });

const pyodideReady = loadPyodide({ stdout: output, stderr: output });
pyodideReady.catch(() => {}); // reported when the configuration comes

// One run per worker; set before anything is awaited, so the message is not missed.
self.onmessage = async (event) => {
  self.onmessage = null;
  try {
    await run(event.data);
    post({ type: "done", seconds: seconds() });
  } catch (error) {
    // A PythonError's message is the Python traceback; its JavaScript stack adds nothing.
    const python = error?.constructor?.name === "PythonError";
    post({ type: "fatal", message: python ? error.message : String(error?.stack ?? error) });
  }
};

async function run(config) {
  const pyodide = await pyodideReady;
  // loadPackage reports a missing or corrupt wheel through its error callback; it does not throw.
  const errors = [];
  await pyodide.loadPackage(["pyws_shim", "pytest"], {
    messageCallback: () => {},
    errorCallback: (message) => errors.push(message),
  });
  if (errors.length > 0) {
    throw new Error(`loadPackage failed: ${errors.join("; ")}`);
  }
  const response = await fetch(new URL("./runner.py", import.meta.url));
  if (!response.ok) {
    throw new Error(`runner.py: HTTP ${response.status}`);
  }
  // At the host's path, so that tracebacks name the same files as on the host.
  const dir = `${config.root}/worker`;
  pyodide.FS.mkdirTree(dir);
  pyodide.FS.writeFile(`${dir}/runner.py`, await response.text());
  pyodide.runPython(`import sys; sys.path.insert(0, ${JSON.stringify(dir)})`);
  post({ type: "loaded", seconds: seconds() });
  const runner = pyodide.pyimport("runner");
  try {
    await runner.run(JSON.stringify(config), (text) => post(JSON.parse(text)));
  } finally {
    runner.destroy();
  }
}
