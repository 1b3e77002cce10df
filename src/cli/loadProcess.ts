/**
 * `quire load` as a child process: the benches drive nodes from a process of its own, so the generator's CPU is
 * never the measured process's and its event loop never delays a node's (or the bench's samplers). The child's
 * progress lines pass through, indented; its result comes back through `--json`.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { LoadResult } from "./load.js";

const BIN = fileURLToPath(new URL("../../../bin/quire.js", import.meta.url));

export interface LoadProcess {
  readonly pid: number | undefined;
  /** Resolves with the run's result (rejects when the child failed without writing one). */
  readonly result: Promise<LoadResult>;
  /** SIGTERM to the child by pid. */
  kill(): void;
}

/** Starts `quire load <args> --json <tmp>`; `onLine` gets each output line (default: stdout, indented). */
export function startLoadProcess(args: readonly string[], onLine: (line: string) => void = (l) => process.stdout.write(`    ${l}\n`)): LoadProcess {
  let pid: number | undefined;
  let child: ReturnType<typeof spawn> | undefined;
  const result = (async () => {
    const dir = await mkdtemp(join(tmpdir(), "quire-load-"));
    const file = join(dir, "load.json");
    try {
      child = spawn(process.execPath, [BIN, "load", ...args, "--json", file], { stdio: ["ignore", "pipe", "pipe"] });
      pid = child.pid;
      let tail = "";
      const feed = (d: Buffer) => {
        tail += d.toString("utf8");
        const lines = tail.split("\n");
        tail = lines.pop()!;
        for (const l of lines) onLine(l);
      };
      child.stdout!.on("data", feed);
      child.stderr!.on("data", feed);
      const code = await new Promise<number | null>((r) => child!.once("exit", (c) => r(c)));
      if (tail !== "") onLine(tail);
      let text: string;
      try {
        text = await readFile(file, "utf8");
      } catch {
        throw new Error(`quire load ${args.join(" ")} exited with ${code} and wrote no result`);
      }
      return JSON.parse(text) as LoadResult;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  })();
  return {
    get pid() {
      return pid;
    },
    result,
    kill: () => {
      if (child !== undefined && child.exitCode === null) child.kill("SIGTERM");
    },
  };
}
