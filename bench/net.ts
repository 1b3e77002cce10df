/**
 * `quire bench net`: two Quire peers in separate processes on 127.0.0.1.
 *
 * This process is validator 0 (it dials); a child process (bench/netPeer.ts) is validator 1 (uWS listener). Measured:
 * - one-way throughput, messages/s and MB/s, for 200-byte and 64 KiB messages, in both directions of the one link
 *   (ws client → uWS server, and uWS server → ws client), each over `--trials` trials of a fixed message count; the
 *   receiver checks every message's length and order, and a trial ends when the receiver has counted them all;
 * - the baselines in the same run, one per direction, in the same two processes and the same pairing: the bare `ws`
 *   client here sending each message as its own frame to a bare uWS server in the peer (ws→uWS), and that uWS server
 *   sending each message as its own message to the bare `ws` client (uWS→ws); no Quire framing, no coalescing, no
 *   channel. Trials alternate between the baseline and the Quire rows; the summary prints each Quire row's ratio to its
 *   direction's baseline, over all trials and per pair of neighbouring trials;
 * - round-trip latency of a 200-byte consensus message (echo), through the bench harness (tinybench);
 * - the cost of the authenticated channel (src/net/channel.ts): every Quire row is measured twice in the same run,
 *   on a link with the channel and on a second link (own peer process) whose two ends stub the tag out
 *   (`channelOffForBenchmark`), trials alternating between the two; the summary prints the loss per row.
 *
 * Flags: --small-count N (default 2,000,000), --large-count N (20,000), --trials N (3), --frame-bytes N,
 * --high-water N, --channel both|on|off (both).
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import type { BenchSuite } from "./harness.js";
import { Priority } from "../src/net/transport.js";
import { UWS_TRANSPORT_DEFAULTS, UwsTransport } from "../src/net/uwsTransport.js";
import { authenticateFrames } from "../src/net/channel.js";
import type { FrameAuthFactory } from "../src/net/channel.js";
import { formatNs, matchesFilter, runCases, throughputResult } from "./harness.js";
import type { BenchResult } from "./harness.js";
import { BENCH_CHAIN_ID, benchIdentity, benchVerify, channelOffForBenchmark, channelPairForBenchmark, DONE, payloadIndex, payloadPool, POOL, Pump } from "./netShared.js";
import type { Command, Event, PeerConfig } from "./netShared.js";

const SUITE = "net";
const TARGET_SMALL_MSGS = 1_000_000;
const TARGET_LARGE_BYTES = 1e9;

/** The child process and its IPC channel. */
class Peer {
  private waiters: { pred: (e: Event) => boolean; resolve: (e: Event) => void; reject: (e: Error) => void }[] = [];
  private exited = false;

  constructor(readonly proc: ChildProcess) {
    proc.on("message", (e: Event) => {
      if (e.ev === "error") {
        for (const w of this.waiters.splice(0)) w.reject(new Error(`bench peer: ${e.message}`));
        return;
      }
      const i = this.waiters.findIndex((w) => w.pred(e));
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(e);
    });
    proc.on("exit", (code) => {
      this.exited = true;
      for (const w of this.waiters.splice(0)) w.reject(new Error(`bench peer exited (${code})`));
    });
  }

  next<K extends Event["ev"]>(ev: K): Promise<Extract<Event, { ev: K }>> {
    if (this.exited) return Promise.reject(new Error("bench peer exited"));
    return new Promise((resolve, reject) => this.waiters.push({ pred: (e) => e.ev === ev, resolve: resolve as (e: Event) => void, reject }));
  }

  async request<K extends Event["ev"]>(cmd: Command, ev: K): Promise<Extract<Event, { ev: K }>> {
    const p = this.next(ev);
    this.proc.send(cmd);
    return p;
  }

  /** Resolves once the process has exited, or after `ms`, whichever comes first. */
  exitedWithin(ms: number): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.proc.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Always by pid: SIGKILL if it has not exited on its own. */
  kill(): void {
    if (!this.exited && this.proc.pid !== undefined) {
      try {
        process.kill(this.proc.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
}

/** CPU time of both processes so far (µs, user + system), read outside the timed sections. */
async function cpuOfBoth(peer: Peer): Promise<number> {
  const u = process.cpuUsage();
  return u.user + u.system + (await peer.request({ cmd: "cpu" }, "cpu")).micros;
}

/** CPU time of both processes during the last baseline trial, µs. */
let rawCpuMicros = 0;

function seconds(t0: number): number {
  return (performance.now() - t0) / 1000;
}

/** Opens a bare `ws` client to the peer's bare uWS server (the baselines' connection). */
async function rawConnect(port: number): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/raw`, { perMessageDeflate: false });
  ws.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("close", () => reject(new Error("baseline connection failed")));
  });
  return ws;
}

/**
 * The baselines' bare `ws` connection to a peer, kept across trials as the Quire link is. A fresh connection per trial
 * started every baseline trial on TCP's initial windows, and about once in a dozen runs such a trial (uWS→ws) stalled
 * for ≈ 250 s.
 */
const rawConns = new Map<number, WebSocket>();

async function rawConnection(port: number): Promise<WebSocket> {
  const have = rawConns.get(port);
  if (have !== undefined && have.readyState === WebSocket.OPEN) return have;
  const ws = await rawConnect(port);
  rawConns.set(port, ws);
  return ws;
}

function closeRawConnections(): void {
  for (const ws of rawConns.values()) ws.terminate();
  rawConns.clear();
}

/** Baseline ws→uWS: each message its own `ws` frame (default random masking, as a plain ws user would), to a bare uWS server. */
async function rawSendTrial(peer: Peer, port: number, pool: readonly Uint8Array[], n: number): Promise<number> {
  const ws = await rawConnection(port);
  await peer.request({ cmd: "rawSink", n, size: pool[0]!.length }, "ok");
  const done = peer.next("rawDone");
  const c0 = await cpuOfBoth(peer);
  const t0 = performance.now();
  let sent = 0;
  const mask = pool.length - 1;
  const limit = 1024 * 1024;
  let waiting = false;
  // Keep ws's buffer at most ~1 MiB ahead. ws has no drain event: frames sent past half the limit carry a write
  // callback, and the first callback that finds the buffer below the limit resumes sending.
  const cont = (): void => {
    if (waiting && sent < n && ws.bufferedAmount < limit) {
      waiting = false;
      burst();
    }
  };
  const burst = (): void => {
    while (sent < n && ws.bufferedAmount < limit) {
      const p = pool[sent++ & mask]!;
      if (ws.bufferedAmount >= limit / 2) ws.send(p, { binary: true }, cont);
      else ws.send(p, { binary: true });
    }
    if (sent < n) waiting = true;
  };
  burst();
  await done;
  const s = seconds(t0);
  rawCpuMicros = (await cpuOfBoth(peer)) - c0;
  return s;
}

/**
 * Baseline uWS→ws: the peer's bare uWS server sends each message as its own uWS message (back-pressure at 1 MiB, as
 * the transport's default high-water mark) to a bare `ws` client here, which checks each one's length and index as
 * the Quire sink does.
 */
async function rawReceiveTrial(peer: Peer, port: number, size: number, n: number): Promise<number> {
  const ws = await rawConnection(port);
  let onMessage: ((data: Buffer) => void) | undefined;
  try {
    let count = 0;
    let bad = 0;
    const done = new Promise<void>((resolve) => {
      onMessage = (data: Buffer) => {
        if (data.length !== size || payloadIndex(data) !== (count & (POOL - 1))) bad++;
        if (++count === n) resolve();
      };
      ws.on("message", onMessage);
    });
    const c0 = await cpuOfBoth(peer);
    const t0 = performance.now();
    peer.proc.send({ cmd: "rawSource", n, size } satisfies Command);
    await done;
    const s = seconds(t0);
    rawCpuMicros = (await cpuOfBoth(peer)) - c0;
    if (bad > 0) throw new Error(`bench: ${bad} baseline messages arrived out of order or damaged`);
    return s;
  } finally {
    if (onMessage !== undefined) ws.off("message", onMessage);
  }
}

/** One Quire link to measure: a peer process and this process's transport, channel on or off (both ends alike). */
interface Rig {
  readonly channel: boolean;
  readonly peer: Peer;
  readonly t: UwsTransport;
  readonly rawPort: number;
  /** ws client (this process, dialer) → uWS server (peer): seconds for `n` messages of `size`. */
  dialerToListener(size: number, n: number): Promise<number>;
  /** uWS server (peer) → ws client (this process). */
  listenerToDialer(size: number, n: number): Promise<number>;
  echo(payload: Uint8Array): Promise<void>;
  /** CPU time of both processes (µs, user + system) during the last `dialerToListener`/`listenerToDialer`. */
  lastCpuMicros: number;
  /** This process's frame counts since the rig opened. */
  readonly frames: FrameCounts;
  close(): Promise<void>;
}

/** Frames this process sealed and opened (count, bytes): both rigs count alike, so frame sizes can be compared. */
interface FrameCounts {
  sealed: number;
  sealedBytes: number;
  opened: number;
  openedBytes: number;
  /** Wall time inside seal/open, ms (on the link's own thread: the time the tag takes in place). */
  ms: number;
}

function countingFrames(inner: FrameAuthFactory, c: FrameCounts): FrameAuthFactory {
  return (key) => {
    const a = inner(key);
    return {
      seal: (f) => {
        c.sealed++;
        c.sealedBytes += f.length;
        const t0 = performance.now();
        a.seal(f);
        c.ms += performance.now() - t0;
      },
      open: (f) => {
        c.opened++;
        c.openedBytes += f.length;
        const t0 = performance.now();
        const ok = a.open(f);
        c.ms += performance.now() - t0;
        return ok;
      },
    };
  };
}

async function openRig(cfg: PeerConfig): Promise<Rig> {
  const frames: FrameCounts = { sealed: 0, sealedBytes: 0, opened: 0, openedBytes: 0, ms: 0 };
  const script = fileURLToPath(new URL("./netPeer.js", import.meta.url));
  // The peer inherits this process's node flags: `node --cpu-prof bin/quire.js bench net` profiles both processes.
  const peer = new Peer(spawn(process.execPath, [...process.execArgv, script, JSON.stringify(cfg)], { stdio: ["ignore", "inherit", "inherit", "ipc"] }));
  const ids = [benchIdentity(0), benchIdentity(1)];
  const t = new UwsTransport(
    {
      self: 0,
      chainId: BENCH_CHAIN_ID,
      validators: ids.map((id) => ({ publicKey: id.publicKey })),
      listen: { host: "127.0.0.1", port: 0 },
      frameBytes: cfg.frameBytes,
      socketHighWaterBytes: cfg.socketHighWaterBytes,
    },
    { identity: ids[0]!, verify: benchVerify, frameAuth: countingFrames(cfg.channel ? authenticateFrames : channelOffForBenchmark, frames) },
  );
  // Parent-side receive state.
  let onDone: (() => void) | undefined;
  let sinkExpected = 0;
  let sinkSize = 0;
  let sinkCount = 0;
  let sinkBad = 0;
  let onSinkDone: (() => void) | undefined;
  let onEcho: (() => void) | undefined;
  let pump: Pump | undefined;
  t.setHandler({
    onMessage(_from, payload, priority) {
      if (priority === Priority.Consensus && payload.length === 1 && payload[0] === DONE[0]) {
        onDone?.();
        return;
      }
      if (onEcho !== undefined) {
        const f = onEcho;
        onEcho = undefined;
        f();
        return;
      }
      if (payload.length !== sinkSize || payloadIndex(payload) !== (sinkCount & (POOL - 1))) sinkBad++;
      if (++sinkCount === sinkExpected) onSinkDone?.();
    },
    onDrain() {
      pump?.drained();
    },
  });
  const close = async (): Promise<void> => {
    try {
      peer.proc.send({ cmd: "exit" } satisfies Command);
    } catch {
      // channel already closed
    }
    await t.stop();
    // A moment to exit on its own (and write its --cpu-prof profile), then by pid.
    await peer.exitedWithin(3_000);
    peer.kill();
  };
  // CPU of both processes over a trial, read outside the timed section: this is what the channel adds, and unlike
  // the wall time it barely depends on what else runs on the machine.
  const cpuNow = (): Promise<number> => cpuOfBoth(peer);
  try {
    const ready = await peer.next("ready");
    await t.start();
    t.setPeerAddress(1, { host: "127.0.0.1", port: ready.port });
    await new Promise<void>((resolve, reject) => {
      const deadline = performance.now() + 10_000;
      const check = (): void => {
        if (t.isConnected(1)) resolve();
        else if (performance.now() > deadline) reject(new Error("bench: link to peer did not come up"));
        else setTimeout(check, 5);
      };
      check();
    });
    const rig: Rig = {
      channel: cfg.channel,
      peer,
      t,
      rawPort: ready.rawPort,
      lastCpuMicros: 0,
      frames,
      async dialerToListener(size, n) {
        const pool = payloadPool(size, POOL);
        await peer.request({ cmd: "sink", n, size }, "ok");
        const done = new Promise<void>((r) => (onDone = r));
        const c0 = await cpuNow();
        const t0 = performance.now();
        pump = new Pump(t, 1, Priority.Gossip, n, pool, 4 * 1024 * 1024, () => {});
        pump.start();
        await done;
        const s = seconds(t0);
        rig.lastCpuMicros = (await cpuNow()) - c0;
        pump = undefined;
        return s;
      },
      async listenerToDialer(size, n) {
        sinkExpected = n;
        sinkSize = size;
        sinkCount = 0;
        sinkBad = 0;
        const done = new Promise<void>((r) => (onSinkDone = r));
        const c0 = await cpuNow();
        const t0 = performance.now();
        peer.proc.send({ cmd: "source", n, size } satisfies Command);
        await done;
        const s = seconds(t0);
        rig.lastCpuMicros = (await cpuNow()) - c0;
        if (sinkBad > 0) throw new Error(`bench: ${sinkBad} messages arrived out of order or damaged`);
        return s;
      },
      async echo(payload) {
        await new Promise<void>((resolve) => {
          onEcho = resolve;
          t.send(1, Priority.Consensus, payload);
        });
      },
      close,
    };
    return rig;
  } catch (e) {
    await close();
    throw e;
  }
}

function pct(x: number): string {
  return `${x >= 0 ? "+" : ""}${(100 * x).toFixed(1)} %`;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

export const suite: BenchSuite = {
  flags: ["small-count", "large-count", "trials", "frame-bytes", "high-water", "channel"],
  async run(args, opts) {
    const smallN = args.int("small-count", 2_000_000);
    const largeN = args.int("large-count", 20_000);
    const trials = Math.max(1, args.int("trials", 3));
    const channelMode = args.choice("channel", ["both", "on", "off"] as const, "both");
    const base: Omit<PeerConfig, "channel"> = {
      frameBytes: args.int("frame-bytes", UWS_TRANSPORT_DEFAULTS.frameBytes),
      socketHighWaterBytes: args.int("high-water", UWS_TRANSPORT_DEFAULTS.socketHighWaterBytes),
    };
    const want = (group: string): boolean => matchesFilter(group, opts.filter);
    const label = (r: Rig, what: string): string => (r.channel ? what : `${what}, channel off`);

    const rows: BenchResult[] = [];
    const rigs: Rig[] = [];
    const losses: string[] = [];
    const vsBare: string[] = [];
    try {
      if (channelMode !== "off") rigs.push(await openRig({ ...base, channel: true }));
      if (channelMode !== "on") rigs.push(await openRig({ ...base, channel: false }));
      const first = rigs[0]!;
      const sizes = [
        { size: 200, n: smallN, label: "200 B" },
        { size: 64 * 1024, n: largeN, label: "64 KiB" },
      ];
      for (const { size, n, label: sizeLabel } of sizes) {
        const group = `one-way ${sizeLabel}`;
        if (!want(group) && !want(`${group} quire ws→uWS`) && !want(`${group} quire uWS→ws`)) continue;
        // Each rig warms up (JIT, TCP windows), then the trials alternate between the rigs, so that load from other
        // processes on this shared machine falls on channel-on and channel-off trials alike.
        const cpu: number[][] = [];
        const measure = async (fs: ((size: number, n: number) => Promise<number>)[], cpuOf?: (k: number) => number): Promise<number[][]> => {
          for (const f of fs) await f(size, Math.max(1, Math.floor(n / 10)));
          const out: number[][] = fs.map(() => []);
          cpu.length = 0;
          for (let k = 0; k < fs.length; k++) cpu.push([]);
          for (let i = 0; i < trials; i++) {
            for (let k = 0; k < fs.length; k++) {
              out[k]!.push(await fs[k]!(size, n));
              if (cpuOf !== undefined) cpu[k]!.push(cpuOf(k));
            }
          }
          process.stderr.write(".");
          return out;
        };
        // Each direction against its own baseline, bare ws and uWS in the same two processes and the same pairing
        // (ws client here, uWS server in the peer), trials alternating with the Quire rows.
        for (const [dir, bareLabel, bare, pick] of [
          ["quire ws→uWS (dialer→listener)", "bare ws→uWS, frame per msg (baseline)", (sz: number, k: number) => rawSendTrial(first.peer, first.rawPort, payloadPool(sz, POOL), k), (r: Rig) => r.dialerToListener.bind(r)],
          ["quire uWS→ws (listener→dialer)", "bare uWS→ws, frame per msg (baseline)", (sz: number, k: number) => rawReceiveTrial(first.peer, first.rawPort, sz, k), (r: Rig) => r.listenerToDialer.bind(r)],
        ] as const) {
          if (!want(group) && !want(`${group} ${dir}`)) continue; // --filter "64 KiB quire uWS→ws": one direction only
          const before = rigs.map((r) => ({ ...r.frames }));
          const [bareTimes, ...times] = await measure([bare, ...rigs.map(pick)], (k) => (k === 0 ? rawCpuMicros : rigs[k - 1]!.lastCpuMicros));
          const bareCpu = median(cpu.shift()!);
          const baseRow = throughputResult(SUITE, group, bareLabel, size, n, bareTimes!);
          rows.push(baseRow);
          const frameSizes = rigs.map((r, k) => {
            const b = before[k]!;
            const [cnt, bytes] = dir.includes("dialer→") ? [r.frames.sealed - b.sealed, r.frames.sealedBytes - b.sealedBytes] : [r.frames.opened - b.opened, r.frames.openedBytes - b.openedBytes];
            return `${cnt} frames of ${(bytes / Math.max(1, cnt) / 1024).toFixed(0)} KiB (${((1e3 * (r.frames.ms - b.ms)) / Math.max(1, cnt)).toFixed(1)} µs each in seal/open here)`;
          });
          const dirRows = rigs.map((r, k) => throughputResult(SUITE, group, label(r, dir), size, n, times[k]!, baseRow));
          rows.push(...dirRows);
          // Trial i of a Quire row against trial i of the baseline (run next to each other): the range says how much
          // of the ratio is the machine's noise.
          rigs.forEach((r, k) => {
            const paired = times[k]!.map((t, i) => bareTimes![i]! / t).sort((a, b) => a - b);
            vsBare.push(
              `${group.padEnd(15)} ${label(r, dir).padEnd(44)} ${(baseRow.meanNs / dirRows[k]!.meanNs).toFixed(2)}x bare (all trials), paired trials ${paired[0]!.toFixed(2)}–${paired[paired.length - 1]!.toFixed(2)}x, median ${median(paired).toFixed(2)}x; CPU of both processes ${((1e3 * median(cpu[k]!)) / n).toFixed(0)} ns/msg, bare ${((1e3 * bareCpu) / n).toFixed(0)}; trials (s) ${times[k]!.map((t) => t.toFixed(2)).join(" ")}, bare ${bareTimes!.map((t) => t.toFixed(2)).join(" ")}`,
            );
          });
          if (dirRows.length === 2) {
            // Medians over the trials: one trial disturbed by another process should not decide the figure.
            const wallLoss = 1 - dirRows[1]!.p50Ns / dirRows[0]!.p50Ns;
            const [cpuOn, cpuOff] = [median(cpu[0]!), median(cpu[1]!)];
            losses.push(
              `${group.padEnd(15)} ${dir.padEnd(32)} throughput loss ${pct(wallLoss)} (median trial);  CPU of both processes ${((1e3 * cpuOn) / n).toFixed(0)} ns/msg, channel off ${((1e3 * cpuOff) / n).toFixed(0)} (${pct(cpuOn / cpuOff - 1)}); ${frameSizes.join(" vs ")}`,
            );
          }
        }
      }
      process.stderr.write("\n");

      // The channel's CPU per frame in isolation (this process only, so less exposed to the other processes' load than
      // the link rows): sealing on one side plus opening on the other, at a small frame and at the default frame size.
      const tagCases = [1024, base.frameBytes].map((size) => {
        const [d, l] = channelPairForBenchmark();
        const frame = new Uint8Array(size);
        frame[0] = 2;
        return {
          group: `channel tag ${size >= 1024 * 1024 ? `${size / 1024 / 1024} MiB` : `${size / 1024} KiB`} frame`,
          backend: "seal + open (ChaCha20-Poly1305, frame as AAD)",
          size,
          fn: () => {
            d.seal(frame);
            if (!l.open(frame)) throw new Error("bench: a sealed frame did not open");
          },
        };
      });
      rows.push(...(await runCases(SUITE, tagCases, opts)));

      if (want("rtt 200 B")) {
        const ping = payloadPool(200, 1)[0]!;
        for (const r of rigs) {
          await r.peer.request({ cmd: "echo" }, "ok");
          rows.push(...(await runCases(SUITE, [{ group: "rtt 200 B", backend: label(r, "quire consensus echo"), size: 200, fn: () => r.echo(ping) }], { ...opts, filter: undefined })));
        }
      }
    } finally {
      closeRawConnections();
      for (const r of rigs) await r.close();
    }

    // Throughput summary against the issue's targets (the generic table follows on stdout).
    const lines = ["", "throughput (payload bytes; 1 MB = 1e6 B)", ""];
    for (const r of rows) {
      if (r.bytesPerSec === undefined) continue;
      const target = r.size === 200 ? `target ≥ ${TARGET_SMALL_MSGS.toLocaleString("en-US")} msg/s` : `target ≥ ${TARGET_LARGE_BYTES / 1e6} MB/s`;
      lines.push(
        `${r.group.padEnd(15)} ${r.backend.padEnd(54)} ${Math.round(r.opsPerSec).toLocaleString("en-US").padStart(11)} msg/s ${(r.bytesPerSec / 1e6).toFixed(0).padStart(6)} MB/s   ${r.backend.startsWith("quire") ? target : ""}`,
      );
    }
    if (vsBare.length > 0) lines.push("", "Quire vs bare ws/uWS in the same direction (target at 64 KiB: ≥ 1.00x in both directions)", "", ...vsBare);
    if (losses.length > 0) lines.push("", "authenticated channel, on vs off (targets: ≤ 15 % throughput loss at 200 B, ≤ 10 % at 64 KiB)", "", ...losses);
    for (const r of rows.filter((x) => x.group.startsWith("channel tag"))) lines.push(`${r.group}: seal + open ${formatNs(r.meanNs)} per frame, ${((r.size ?? 0) / r.meanNs).toFixed(2)} GB/s`);
    for (const rtt of rows.filter((r) => r.group === "rtt 200 B")) lines.push("", `round trip 200 B (${rtt.backend}): mean ${formatNs(rtt.meanNs)}, p50 ${formatNs(rtt.p50Ns)}`);
    process.stdout.write(lines.join("\n") + "\n\n");
    return rows;
  },
};
