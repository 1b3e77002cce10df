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

// Baseline: a bare uWS server that only counts frames.
let rawExpected = 0;
let rawCount = 0;
const app = uWS.App().ws("/*", {
  maxPayloadLength: 1024 * 1024,
  maxBackpressure: 16 * 1024 * 1024,
  idleTimeout: 0,
  message: () => {
    if (++rawCount === rawExpected) emit({ ev: "rawDone", n: rawCount });
  },
});

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
      rawCount = 0;
      emit({ ev: "ok" });
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
