// The echo server of pyws_shim's benchmarks: two `ws` servers on loopback,
// one without permessage-deflate and one with ws's default deflate settings
// (it compresses what it sends from 1 KiB up: ws's default threshold).
// Each echoes every message back at once, text as text, binary as binary.
//
//   node bench/echo_server.mjs [--host 127.0.0.1]
//
// It prints one JSON line when both listen ({"plain": PORT, "deflate": PORT,
// "ws": VERSION, "bufferutil": VERSION}) and runs until stdin closes or a
// SIGTERM/SIGINT arrives. bench/run starts it on the npm Node 24.
import { createRequire } from "node:module";
import { once } from "node:events";

const require = createRequire(import.meta.url);
const { WebSocketServer } = require("ws");
// ws uses bufferutil (masking in C) when it can load it: check that it can.
require("bufferutil");

const host = process.argv.includes("--host")
  ? process.argv[process.argv.indexOf("--host") + 1]
  : "127.0.0.1";

function echoServer(perMessageDeflate) {
  const server = new WebSocketServer({ host, port: 0, perMessageDeflate, backlog: 1024 });
  server.on("connection", (socket) => {
    socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary }));
    socket.on("error", () => socket.terminate());
  });
  return server;
}

const servers = { plain: echoServer(false), deflate: echoServer(true) };
await Promise.all(Object.values(servers).map((server) => once(server, "listening")));
const version = (name) => require(`${name}/package.json`).version;
console.log(
  JSON.stringify({
    plain: servers.plain.address().port,
    deflate: servers.deflate.address().port,
    ws: version("ws"),
    bufferutil: version("bufferutil"),
    node: process.version,
  }),
);

function stop() {
  for (const server of Object.values(servers)) {
    for (const client of server.clients) client.terminate();
    server.close();
  }
  process.exit(0);
}
process.stdin.on("end", stop);
process.stdin.resume();
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
