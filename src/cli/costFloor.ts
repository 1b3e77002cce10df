/**
 * The cost floor (issue 12, deliverable 3): how many tx/s this machine can commit when it does only the
 * per-transaction work that consensus cannot avoid, shared by the validators that would run on it.
 *
 * Included, with the shipping code (costFloorWorker.ts): receiving the tx over HTTP (the real RpcServer on uWS, the
 * binary `POST /v1/txs` route, its parsing and per-item answer), the application's stateless check, the tx id
 * (SHA-256), the block's RFC 6962 Merkle tx root (`buildBlock`), executing the block in the KV application with
 * its state tree (`Executor.execute`), and committing it to LMDB (`Executor.commit` over `LmdbChainStore`, one
 * fsync'd transaction per block, as the node does).
 * Excluded: the acknowledgement journal (no fsync before the 202), the mempool's dedupe and fairness bookkeeping,
 * gossip to the other validators, proposals, votes and QCs (no BLS signing or verifying, no network between
 * validators), the block stream and every view timer — consensus and its safety machinery.
 *
 * One worker process per core (`os.availableParallelism()`), all driven by one `quire load` process in closed loop
 * (capacity, not latency). floor tx/s = Σ committed tx/s of the workers over the window ÷ validators: on one machine
 * the N validators share the cores, and each must do this work for every tx. `efficiency = cluster committed tx/s ÷
 * floor tx/s`. With `--sink` the workers answer 202 and do nothing: the rate is then the load generator's ceiling.
 */
import { fork } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { checkFlags, choiceFlag, intFlag, parseArgs, stringFlag, UsageError } from "./args.js";
import { writeFile } from "node:fs/promises";
import type { FloorWorkerConfig, FloorWorkerMessage, FloorWorkerStats } from "./costFloorWorker.js";
import type { LoadResult } from "./load.js";
import { startLoadProcess } from "./loadProcess.js";
import { CONFIG_DEFAULTS } from "../node/config.js";
import { HASH_BACKENDS } from "../crypto/hasher.js";
import type { HashBackend } from "../crypto/hasher.js";

const WORKER = fileURLToPath(new URL("./costFloorWorker.js", import.meta.url));

export interface FloorOptions {
  /** Validators that would share the machine (the divisor). */
  readonly validators: number;
  readonly txBytes: number;
  /** Seconds measured, after `warmupSeconds`. */
  readonly seconds: number;
  readonly warmupSeconds: number;
  /** "sink": answer 202 and do nothing (the generator's ceiling). */
  readonly mode: "floor" | "sink";
  /** Open-loop rate for the generator; 0 (default): closed loop, as fast as the workers answer. */
  readonly rate?: number;
  /** Requests of 500 txs the closed-loop generator keeps in flight (default 16 per worker: 8,000 txs waiting per worker, two full blocks, so a worker never idles for want of txs). */
  readonly inFlight?: number;
  readonly hash?: HashBackend;
  /** Progress lines (default: stdout). */
  readonly out?: (s: string) => void;
}

export interface FloorResult {
  readonly mode: "floor" | "sink";
  readonly workers: number;
  readonly validators: number;
  readonly txBytes: number;
  readonly windowSeconds: number;
  /** Σ over the workers of committed (floor) or accepted (sink) tx/s in the window. */
  readonly machineTxPerSecond: number;
  /** machineTxPerSecond ÷ validators. */
  readonly floorTxPerSecond: number;
  /**
   * Txs committed per CPU second of the workers in the window, and what that gives with every core busy ÷ validators:
   * the floor as a quiet machine would show it. On a shared machine the workers get only part of the cores (other
   * processes run too), which the measured floor includes and this estimate does not.
   */
  readonly txPerCpuSecond: number;
  readonly quietFloorTxPerSecond: number;
  /** Per worker: tx/s in the window and CPU seconds used in it. */
  readonly perWorker: readonly { readonly txPerSecond: number; readonly cpuSeconds: number }[];
  /** The generator's own report (closed loop: accepted tx/s and its CPU). */
  readonly load: LoadResult;
  readonly hash: string;
}

interface Worker {
  readonly proc: ChildProcess;
  readonly url: string;
  stats(): Promise<FloorWorkerStats>;
}

async function startWorker(cfg: FloorWorkerConfig): Promise<Worker> {
  const proc = fork(WORKER, [JSON.stringify(cfg)], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const waiting: ((s: FloorWorkerStats) => void)[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    proc.once("exit", (code) => reject(new Error(`cost floor worker exited with ${code} before it was ready`)));
    proc.on("message", (m: FloorWorkerMessage) => {
      if ("ready" in m) resolve(m.url);
      else waiting.shift()?.(m.stats);
    });
  });
  return {
    proc,
    url,
    stats: () =>
      new Promise<FloorWorkerStats>((resolve) => {
        waiting.push(resolve);
        proc.send({ cmd: "stats" });
      }),
  };
}

async function stopWorkers(workers: readonly Worker[]): Promise<void> {
  await Promise.all(
    workers.map(async (w) => {
      if (w.proc.exitCode !== null || w.proc.signalCode !== null) return;
      const exited = new Promise((r) => w.proc.once("exit", r));
      w.proc.send({ cmd: "stop" });
      const timer = setTimeout(() => w.proc.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }),
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the floor (see the module comment) and returns its figures. */
export async function measureFloor(o: FloorOptions): Promise<FloorResult> {
  const out = o.out ?? ((s: string) => process.stdout.write(s));
  const n = availableParallelism();
  const dir = await mkdtemp(join(tmpdir(), "quire-floor-"));
  const workers: Worker[] = [];
  try {
    for (let i = 0; i < n; i++) {
      workers.push(
        await startWorker({
          mode: o.mode,
          dataDir: join(dir, `w${i}`),
          maxTxs: CONFIG_DEFAULTS.block.maxTxs,
          maxQueued: CONFIG_DEFAULTS.mempool.maxTxs,
          ...(o.hash !== undefined ? { hash: o.hash } : {}),
        }),
      );
    }
    const rate = o.rate ?? 0;
    out(`cost floor (${o.mode}): ${n} worker process(es), ${o.txBytes} B txs, ${rate > 0 ? `open loop at ${rate} tx/s` : "closed loop"}, ${o.warmupSeconds} s warm-up + ${o.seconds} s\n`);
    const loadSeconds = o.warmupSeconds + o.seconds + 2;
    const load = startLoadProcess([
      "--rpc", workers.map((w) => w.url).join(","),
      ...(rate > 0 ? ["--rate", String(rate)] : ["--in-flight", String(o.inFlight ?? 16 * n)]),
      "--duration", String(loadSeconds),
      "--size", String(o.txBytes),
      "--no-check",
    ]);
    // The window starts once txs flow (the child's start-up is not the workers' time), after the warm-up.
    for (let i = 0; i < 200; i++) {
      const s = await Promise.all(workers.map((w) => w.stats()));
      if (s.some((x) => x.accepted > 0)) break;
      await sleep(50);
    }
    await sleep(o.warmupSeconds * 1000);
    const a = await Promise.all(workers.map((w) => w.stats()));
    const ta = performance.now();
    await sleep(o.seconds * 1000);
    const b = await Promise.all(workers.map((w) => w.stats()));
    const window = (performance.now() - ta) / 1000;
    const loadResult = await load.result;
    const count = (s: FloorWorkerStats) => (o.mode === "floor" ? s.committed : s.accepted);
    const perWorker = b.map((x, i) => ({ txPerSecond: +((count(x) - count(a[i]!)) / window).toFixed(1), cpuSeconds: +(x.cpuSeconds - a[i]!.cpuSeconds).toFixed(2) }));
    const machine = perWorker.reduce((s, w) => s + w.txPerSecond, 0);
    const cpu = perWorker.reduce((s, w) => s + w.cpuSeconds, 0);
    const perCpu = cpu > 0 ? (machine * window) / cpu : 0;
    return {
      mode: o.mode,
      workers: n,
      validators: o.validators,
      txBytes: o.txBytes,
      windowSeconds: +window.toFixed(3),
      machineTxPerSecond: +machine.toFixed(1),
      floorTxPerSecond: +(machine / o.validators).toFixed(1),
      txPerCpuSecond: +perCpu.toFixed(1),
      quietFloorTxPerSecond: +((perCpu * n) / o.validators).toFixed(1),
      perWorker,
      load: loadResult,
      hash: o.hash ?? "default",
    };
  } finally {
    await stopWorkers(workers);
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatFloor(f: FloorResult): string {
  const what = f.mode === "floor" ? "committed" : "accepted by the sink";
  return [
    `${f.workers} worker(s): ${f.machineTxPerSecond} tx/s ${what} over ${f.windowSeconds} s (${f.perWorker.map((w) => `${w.txPerSecond} tx/s, ${w.cpuSeconds} CPU s`).join("; ")})`,
    f.mode === "floor"
      ? `floor for ${f.validators} validators: ${f.floorTxPerSecond} tx/s (machine ÷ ${f.validators}); ${f.txPerCpuSecond} tx per CPU second of the workers, so ${f.quietFloorTxPerSecond} tx/s with all ${f.workers} cores free`
      : `generator ceiling: ${f.machineTxPerSecond} tx/s (its CPU ${f.load.generatorCpuSeconds} s, shed ${f.load.shed}, failed ${f.load.failedTxs})`,
  ].join("\n");
}

const USAGE = [
  "usage: quire bench floor [--validators N] [--seconds S] [--warmup-s W] [--size B] [--sink] [--rate R]",
  "                         [--hash wasm|node|noble] [--json FILE]",
  "  The cost floor: one process per core running the shipping RPC server, tx check and id, Merkle root, KV execution",
  "  and fsync'd LMDB commit with no consensus, driven by `quire load` in closed loop; floor = machine tx/s ÷ N",
  "  validators (default 4). --sink: workers answer 202 and do nothing (the load generator's ceiling); --rate R: drive",
  "  in open loop at R tx/s instead. Defaults: --seconds 10 --warmup-s 3 --size 256.",
].join("\n");

/** `quire bench floor`. */
export async function benchFloorCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ["sink", "help"]);
  if (args.flags.has("help")) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  checkFlags(args, ["validators", "seconds", "warmup-s", "size", "sink", "rate", "hash", "json", "help"]);
  if (args.positional.length > 0) throw new UsageError(USAGE);
  const validators = intFlag(args, "validators", 4)!;
  if (validators < 1 || validators > 64) throw new UsageError("--validators must be in [1, 64]");
  const hashArg = stringFlag(args, "hash");
  const hash = hashArg === undefined ? undefined : choiceFlag(args, "hash", HASH_BACKENDS, HASH_BACKENDS[0]!);
  const f = await measureFloor({
    validators,
    txBytes: intFlag(args, "size", 256)!,
    seconds: intFlag(args, "seconds", 10)!,
    warmupSeconds: intFlag(args, "warmup-s", 3)!,
    mode: args.flags.has("sink") ? "sink" : "floor",
    rate: intFlag(args, "rate", 0)!,
    ...(hash !== undefined ? { hash } : {}),
  });
  process.stdout.write(formatFloor(f) + "\n");
  const json = stringFlag(args, "json");
  if (json !== undefined) await writeFile(json, JSON.stringify(f, null, 2) + "\n");
  return 0;
}
