import { ManualScheduler } from "../../../src/util/clock.js";
import { MemoryNetwork } from "../../../src/net/memoryNetwork.js";
import { Recorder } from "./support.js";
import { transportCompliance } from "./transportCompliance.js";
import type { ComplianceCluster } from "./transportCompliance.js";

/** The in-memory network on virtual time: `until` steps the scheduler, so these runs are deterministic. */
function memoryCluster(faults: ConstructorParameters<typeof MemoryNetwork>[0]["faults"]) {
  return async (n: number): Promise<ComplianceCluster> => {
    const scheduler = new ManualScheduler();
    const net = new MemoryNetwork({ size: n, seed: 7, ...(faults !== undefined ? { faults } : {}) }, { scheduler });
    const transports = Array.from({ length: n }, (_, i) => net.transport(i));
    const recorders = transports.map((t) => {
      const r = new Recorder();
      t.setHandler(r);
      return r;
    });
    for (const t of transports) await t.start();
    return {
      transports,
      recorders,
      until: async (cond, what) => {
        if (!scheduler.runUntil(cond, scheduler.now() + 60_000)) throw new Error(`timed out (virtual) waiting for ${what}`);
      },
      close: async () => {
        for (const t of transports) await t.stop();
        scheduler.runUntilIdle();
      },
    };
  };
}

transportCompliance("MemoryNetwork, perfect links", memoryCluster(undefined));
// Random delays must not break the contract: links stay FIFO per class without the reorder fault.
transportCompliance("MemoryNetwork, uniform 1-50 ms delays", memoryCluster({ delay: { kind: "uniform", minMs: 1, maxMs: 50 } }));
