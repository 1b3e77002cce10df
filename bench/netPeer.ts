/**
 * The second process of `quire bench net`: validator 1 (listener; the parent is validator 0 and dials it). Driven by
 * the parent over the IPC channel (see `Command`); exits when told to or when the parent goes away.
 */
import * as uWS from "uWebSockets.js";
import { Priority } from "../src/net/transport.js";
import { UwsTransport } from "../src/net/uwsTransport.js";
import { BENCH_CHAIN_ID, benchIdentity, benchVerify, channelOffForBenchmark, DONE, payloadIndex, payloadPool, POOL, Pump } from "./netShared.js";
import type { Command, Event, PeerConfig } from "./netShared.js";

function emit(e: Event): void {
  process.send?.(e);
}

const cfg = JSON.parse(process.argv[2] ?? "{}") as PeerConfig;
const ids = [benchIdentity(0), benchIdentity(1)];
const t = new UwsTransport(
  {
    self: 1,
    chainId: BENCH_CHAIN_ID,
    validators: ids.map((id) => ({ publicKey: id.publicKey })),
    listen: { host: "127.0.0.1", port: 0 },
    frameBytes: cfg.frameBytes,
    socketHighWaterBytes: cfg.socketHighWaterBytes,
  },
  { identity: ids[1]!, verify: benchVerify, ...(cfg.channel ? {} : { frameAuth: channelOffForBenchmark }) },
);

let mode: Command["cmd"] | "idle" = "idle";
let expected = 0;
let expectedSize = 0;
let count = 0;
let outOfOrder = 0;
let pump: Pump | undefined;

t.setHandler({
  onMessage(from, payload, priority) {
    if (mode === "sink") {
      if (payload.length !== expectedSize || payloadIndex(payload) !== (count & (POOL - 1))) outOfOrder++;
      if (++count === expected) {
        if (outOfOrder > 0) emit({ ev: "error", message: `${outOfOrder} messages arrived out of order or damaged` });
        mode = "idle";
        t.send(from, Priority.Consensus, DONE);
      }
    } else if (mode === "echo") {
      t.send(from, priority, payload);
    }
  },
  onDrain() {
    pump?.drained();
  },
});

// Baselines: a bare uWS server that counts the frames a bare ws client sends it (checking each one's length and index,
// as the Quire sink does), and sends the ws client one message per frame on "rawSource". No Quire framing, no channel.
let rawExpected = 0;
let rawExpectedSize = 0;
let rawCount = 0;
let rawBad = 0;
let rawSocket: uWS.WebSocket<unknown> | undefined;
/** The baseline sender's resume function, and the connection it sends on. */
let rawSourceMore: { ws: uWS.WebSocket<unknown>; burst: () => void } | undefined;
const app = uWS.App().ws("/*", {
  maxPayloadLength: 1024 * 1024,
  maxBackpressure: 16 * 1024 * 1024,
  idleTimeout: 0,
  open: (ws) => {
    rawSocket = ws;
  },
  close: (ws) => {
    // The previous trial's connection may close after the next one opened: only its own state goes.
    if (rawSocket === ws) rawSocket = undefined;
    if (rawSourceMore?.ws === ws) rawSourceMore = undefined;
  },
  drain: (ws) => {
    if (rawSourceMore?.ws === ws) rawSourceMore.burst();
  },
  message: (_ws, m) => {
    if (m.byteLength !== rawExpectedSize || payloadIndex(new Uint8Array(m, 0, Math.min(4, m.byteLength))) !== (rawCount & (POOL - 1))) rawBad++;
    if (++rawCount === rawExpected) {
      if (rawBad > 0) emit({ ev: "error", message: `${rawBad} baseline messages arrived out of order or damaged` });
      emit({ ev: "rawDone", n: rawCount });
    }
  },
});

/**
 * Baseline uWS→ws: `n` pool messages, one uWS message each, to the bare ws client, while uWS buffers under 1 MiB (the
 * transport's default socketHighWaterBytes); the drain handler resumes.
 */
function rawSource(n: number, size: number): void {
  const ws = rawSocket;
  if (ws === undefined) {
    emit({ ev: "error", message: "rawSource: no baseline connection" });
    return;
  }
  const pool = payloadPool(size, POOL);
  const limit = 1024 * 1024;
  let sent = 0;
  const burst = (): void => {
    ws.cork(() => {
      while (sent < n && ws.getBufferedAmount() < limit) {
        if (ws.send(pool[sent & (POOL - 1)]!, true, false) === 2) throw new Error("rawSource: uWS dropped a message");
        sent++;
      }
    });
    if (sent >= n) rawSourceMore = undefined;
  };
  rawSourceMore = { ws, burst };
  burst();
  // Once in about a dozen runs a baseline trial stalled for minutes (253 s for 640 MB) in `quire bench net` and never
  // in a standalone loop of the same trial: if one second passes without progress, say so and push again (bounded by
  // the trial: the timer stops with the last message or the connection).
  let lastSent = -1;
  const watchdog = setInterval(() => {
    if (sent >= n || rawSourceMore?.ws !== ws) {
      clearInterval(watchdog);
      return;
    }
    if (sent === lastSent) {
      process.stderr.write(`bench peer: baseline sender stalled at ${sent}/${n} with ${ws.getBufferedAmount()} B buffered; pushing again\n`);
      burst();
    }
    lastSent = sent;
  }, 1_000);
}

await t.start();
const rawPort = await new Promise<number>((resolve, reject) =>
  app.listen("127.0.0.1", 0, (ls) => (ls === false ? reject(new Error("raw listen failed")) : resolve(uWS.us_socket_local_port(ls as unknown as uWS.us_socket)))),
);

async function shutdown(): Promise<void> {
  await t.stop();
  app.close();
  process.exit(0);
}

process.on("disconnect", () => void shutdown());
process.on("message", (m: Command) => {
  switch (m.cmd) {
    case "sink":
      mode = "sink";
      expected = m.n;
      expectedSize = m.size;
      count = 0;
      outOfOrder = 0;
      emit({ ev: "ok" });
      break;
    case "source": {
      mode = "source";
      const pool = payloadPool(m.size, POOL);
      pump = new Pump(t, 0, Priority.Gossip, m.n, pool, 4 * 1024 * 1024, () => emit({ ev: "sourceDone", sent: m.n }));
      pump.start();
      break;
    }
    case "echo":
      mode = "echo";
      emit({ ev: "ok" });
      break;
    case "rawSink":
      rawExpected = m.n;
      rawExpectedSize = m.size;
      rawCount = 0;
      rawBad = 0;
      emit({ ev: "ok" });
      break;
    case "rawSource":
      rawSource(m.n, m.size);
      break;
    case "cpu": {
      const u = process.cpuUsage();
      emit({ ev: "cpu", micros: u.user + u.system });
      break;
    }
    case "exit":
      void shutdown();
      break;
  }
});
emit({ ev: "ready", port: t.listenPort, rawPort });
