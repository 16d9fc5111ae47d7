// The Pyodide benchmarks on Node.js (bench.mjs), run by bench/bench.py:
//
//   node bench/pyodide/node.mjs DIST CONFIG_JSON
//
// DIST is the offline Pyodide distribution with pyws_shim's wheel
// (build/pyodide-dist, from tests/pyodide_dist.py). It prints progress on
// stderr and, last, one line on stdout: "RESULT " and a JSON object.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { runBench } from "./bench.mjs";

const [dist, configJson] = process.argv.slice(2);
const config = JSON.parse(configJson);
const here = path.dirname(new URL(import.meta.url).pathname);
try {
  const { loadPyodide } = await import(pathToFileURL(path.join(dist, "pyodide.mjs")).href);
  const pyodide = await loadPyodide({ indexURL: path.resolve(dist) + "/", stdout: (s) => console.error(s) });
  await pyodide.loadPackage("pyws-shim", { messageCallback: () => {} });
  config.pyCode = await readFile(path.join(here, "clients.py"), "utf8");
  const cpuNow = () => {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1e6;
  };
  const runs = await runBench(pyodide, config, cpuNow, (line) => console.error(line));
  console.log("RESULT " + JSON.stringify({ ok: true, pyodide: pyodide.version, runtime: `Node.js ${process.version}`, runs }));
} catch (error) {
  console.log("RESULT " + JSON.stringify({ ok: false, error: String(error?.stack ?? error) }));
}
// A pending asyncio timer would keep Node alive.
process.exit(0);
