/**
 * Child process for the "stop() leaves no open handle" test: starts an RpcServer, leaves every kind of connection
 * open (pooled keep-alive fetch sockets, a stream subscriber, a half-sent upload, a request the node never answers),
 * calls stop(), and then simply returns. The process exits on its own only if nothing is left holding the loop.
 */
import WebSocket from "ws";
import { RawConn } from "./rawHttp.js";
import { startHarness } from "./rpcHttp.js";

const h = await startHarness();
for (let i = 0; i < 3; i++) await (await fetch(`${h.base}/v1/status`)).text();
const ws = new WebSocket(`${h.base.replace(/^http/, "ws")}/v1/stream`);
await new Promise((r) => ws.once("open", r));
ws.on("error", () => {});
const upload = await RawConn.open(h.server.port);
upload.write("POST /v1/tx HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 100\r\n\r\nhalf");
h.api.hang = true;
const pending = fetch(`${h.base}/v1/blocks/latest`).then(
  () => "answered",
  () => "dropped",
);
// Wait until the hanging request reached the node, so it really is in flight when stop() runs.
while ((h.api.calls.get("block") ?? 0) === 0) await new Promise((r) => setImmediate(r));
await h.server.stop();
const outcome = await pending;
await upload.waitClose(5000);
process.stdout.write(`stopped: in-flight request ${outcome}, upload closed ${upload.closed}, subscribers ${h.server.streamSubscribers}\n`);
