/**
 * Attack: requests-per-second flood. `node requestFlood.js PORT CONNECTIONS PIPELINE [PATH]` opens CONNECTIONS
 * keep-alive TCP connections from ATTACKER_HOST to the RPC port on 127.0.0.1 and keeps PIPELINE `GET PATH` requests
 * (default `/v1/status`) outstanding on each (HTTP/1.1 pipelining: a new request goes out for every answer read), the cheapest way for one
 * process to make a server answer as many requests as it can. A closed connection is reopened after 100 ms. Once a
 * second it prints `{"answered", "perSec", "answers": {status: count}}`; it runs until SIGTERM.
 */
import { connect } from "node:net";
import type { Socket } from "node:net";
import { ATTACKER_HOST } from "../support.js";

const [portArg, connArg, pipeArg, pathArg] = process.argv.slice(2);
const port = Number(portArg);
const connections = Number(connArg ?? 8);
const pipeline = Number(pipeArg ?? 64);
const REQUEST = `GET ${pathArg ?? "/v1/status"} HTTP/1.1\r\nHost: x\r\n\r\n`;
const answers: Record<string, number> = {};
let answered = 0;
let lastAnswered = 0;
const sockets = new Set<Socket>();

function openOne(): void {
  const s = connect({ host: "127.0.0.1", port, localAddress: ATTACKER_HOST });
  sockets.add(s);
  let buf = "";
  s.on("connect", () => s.write(REQUEST.repeat(pipeline)));
  s.on("data", (d: Buffer) => {
    buf += d.toString("latin1");
    // Consume every complete response (status line, headers, Content-Length body); send one request per response.
    let more = "";
    for (;;) {
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) break;
      const head = buf.slice(0, end);
      const len = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? "0");
      if (buf.length < end + 4 + len) break;
      const status = /^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? "???";
      answers[status] = (answers[status] ?? 0) + 1;
      answered++;
      buf = buf.slice(end + 4 + len);
      more += REQUEST;
    }
    if (more !== "" && !s.destroyed) s.write(more);
  });
  s.on("error", () => {});
  s.on("close", () => {
    sockets.delete(s);
    setTimeout(openOne, 100);
  });
}

for (let i = 0; i < connections; i++) openOne();
const report = setInterval(() => {
  process.stdout.write(`${JSON.stringify({ answered, perSec: answered - lastAnswered, answers })}\n`);
  lastAnswered = answered;
}, 1000);
process.on("SIGTERM", () => {
  clearInterval(report);
  for (const s of sockets) s.destroy();
  process.exit(0);
});
