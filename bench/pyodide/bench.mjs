// The Pyodide benchmarks, the same in a Chromium page (page.html) and on
// Node.js (node.mjs): three clients of one echo server, alternating.
//
//   js    the runtime's native WebSocket driven from JavaScript (the ceiling);
//   bare  a bare Pyodide wrapper: create_proxy handlers calling ws.send (clients.py);
//   shim  pyws_shim with an onmessage handler (clients.py).
//
// Each round runs every client once per workload, in an order that rotates
// from round to round, so noise hits them alike. A run: open, a warm-up,
// then `count` messages with `inflight` on the wire (each echo sends the next
// one), every echo checked; its wall time (and on Node its process CPU time)
// covers the timed part only.

const SMALL_SIZE = 32;
const LARGE_SIZE = 1 << 20;
const LARGE_VARIANTS = 8;
const SAMPLE = 16;
export const VARIANTS = ["js", "bare", "shim"];

function textMessage(index) {
  return String(index).padStart(8, "0") + ".".repeat(SMALL_SIZE - 8);
}

function makePayloads() {
  const payloads = [];
  for (let k = 0; k < LARGE_VARIANTS; k++) {
    const payload = new Uint8Array(LARGE_SIZE);
    for (let start = 0; start < LARGE_SIZE; start += 65536) {
      crypto.getRandomValues(payload.subarray(start, start + 65536));
    }
    payloads.push(payload);
  }
  return payloads;
}

function sameBytes(a, b, fullCheck) {
  if (a.length !== b.length) return false;
  const n = a.length;
  if (!fullCheck) {
    for (let i = 0; i < SAMPLE; i++) {
      if (a[i] !== b[i] || a[n - 1 - i] !== b[n - 1 - i]) return false;
    }
    return true;
  }
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

function opened(ws) {
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onclose = (event) => reject(new Error(`closed with ${event.code} before open`));
  });
}

function closed(ws) {
  return new Promise((resolve) => {
    ws.onclose = () => resolve();
    ws.close(1000);
  });
}

function pipelinedJs(ws, count, inflight, binary, payloads, fullCheck) {
  const items = [];
  for (let i = 0; i < count; i++) items.push(binary ? payloads[i % LARGE_VARIANTS] : textMessage(i));
  return new Promise((resolve, reject) => {
    let sent = Math.min(inflight, count);
    let received = 0;
    ws.onmessage = (event) => {
      const data = event.data;
      const ok =
        received < count &&
        (binary ? sameBytes(new Uint8Array(data), items[received], fullCheck) : data === items[received]);
      if (!ok) {
        reject(new Error(`message ${received} arrived wrong`));
        return;
      }
      received++;
      if (sent < count) {
        ws.send(items[sent]);
        sent++;
      } else if (received === count) {
        resolve();
      }
    };
    ws.onclose = (event) => reject(new Error(`closed with ${event.code} after ${received} messages`));
    for (let i = 0; i < sent; i++) ws.send(items[i]);
  });
}

async function runJs(url, workload, count, inflight, warmup, fullCheck, payloads, cpuNow) {
  const binary = workload === "large";
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  await opened(ws);
  try {
    await pipelinedJs(ws, warmup, inflight, binary, payloads, fullCheck);
    const cpu = cpuNow();
    const start = performance.now();
    await pipelinedJs(ws, count, inflight, binary, payloads, fullCheck);
    const wall = (performance.now() - start) / 1000;
    const cpuEnd = cpuNow();
    return { wall, cpu: cpu === null ? null : cpuEnd - cpu };
  } finally {
    await closed(ws);
  }
}

// config: {url, rounds, workloads: {small: {count, inflight}, large: {...}},
//          fullCheck, pyCode}; cpuNow(): process CPU seconds, or null.
export async function runBench(pyodide, config, cpuNow, log = () => {}) {
  globalThis.benchCpuNow = cpuNow;
  pyodide.runPython(config.pyCode);
  const payloads = makePayloads();
  pyodide.globals.get("set_payloads")(payloads);
  const runVariant = pyodide.globals.get("run_variant");
  const runs = [];
  for (let round = 0; round < config.rounds; round++) {
    for (const [workload, { count, inflight }] of Object.entries(config.workloads)) {
      const warmup = Math.max(1, Math.min(1000, Math.floor(count / 10)));
      for (let i = 0; i < VARIANTS.length; i++) {
        const variant = VARIANTS[(i + round) % VARIANTS.length];
        let result;
        if (variant === "js") {
          result = await runJs(config.url, workload, count, inflight, warmup, config.fullCheck, payloads, cpuNow);
        } else {
          const args = [variant, config.url, workload, count, inflight, warmup, config.fullCheck];
          result = JSON.parse(await runVariant(...args));
        }
        runs.push({ round, workload, variant, count, ...result });
        log(`${workload} ${variant}: ${(count / result.wall).toFixed(0)} msg/s`);
      }
    }
  }
  runVariant.destroy();
  return runs;
}
