import { createServer } from "node:net";
import type { Server } from "node:net";

/**
 * `count` distinct TCP ports that were free on `host` a moment ago (each bound to port 0 at the same time, then
 * released). Another process may take one before it is used: good enough for local clusters and tests, which fail
 * loudly (LISTEN_FAILED) rather than silently in that case.
 */
export async function freePorts(count: number, host = "127.0.0.1"): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const s = createServer();
      servers.push(s);
      await new Promise<void>((resolve, reject) => {
        s.once("error", reject);
        s.listen(0, host, () => resolve());
      });
      const a = s.address();
      if (a === null || typeof a === "string") throw new Error("freePorts: no port assigned");
      ports.push(a.port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}
