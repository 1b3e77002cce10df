import { after } from "node:test";
import assert from "node:assert/strict";
import { eventually, uwsCluster } from "./support.js";
import type { UwsCluster } from "./support.js";
import { transportCompliance } from "./transportCompliance.js";

// Every cluster this file starts, so a failing test cannot leave sockets or timers behind.
const live: UwsCluster[] = [];
after(async () => {
  for (const c of live) await c.close();
});

transportCompliance("UwsTransport on 127.0.0.1", async (n) => {
  // Small frames so the suite exercises coalescing and fragmentation with modest payloads.
  const c = await uwsCluster(n, { frameBytes: 16 * 1024, maxMessageBytes: 512 * 1024 });
  live.push(c);
  return {
    transports: c.transports,
    recorders: c.recorders,
    until: (cond, what) => eventually(cond, what),
    close: async () => {
      await c.close();
      // Clean shutdown: no socket and no timer survives stop().
      assert.deepEqual(c.schedulers.map((s) => s.live), c.schedulers.map(() => 0), "timers left after stop()");
    },
  };
});
