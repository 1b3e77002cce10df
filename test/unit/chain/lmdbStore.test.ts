import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { open } from "lmdb";
import { LMDB_ENV_OPTIONS, LmdbChainStore } from "../../../src/chain/store/lmdbStore.js";
import { META_KEYS } from "../../../src/chain/store/tableStore.js";
import { encodeU32 } from "../../../src/chain/store/records.js";
import { runChainStoreCompliance } from "./storeCompliance.js";
import { CHAIN_ID, nextBlock, sha256 } from "./support/fixtures.js";
import { BIG_WRITES, CRASH_TXS_PER_BLOCK, crashTxs, crashWriteCount, crashWrites } from "./support/crashChild.js";
import type { ChainBlock } from "./support/fixtures.js";
import { bytesEqual, utf8 } from "../../../src/util/bytes.js";
import { seededRng } from "../../support/seed.js";

const newDir = (): string => mkdtempSync(join(tmpdir(), "quire-chain-"));

runChainStoreCompliance<string>({
  name: "LmdbChainStore",
  newLocation: () => Promise.resolve(newDir()),
  open: (path, opts) => LmdbChainStore.open({ ...opts, path }),
  setSchemaVersion: async (path, version) => {
    // Plants a version the way another Quire build would have written it: straight into the meta table.
    const env = open({ path, maxDbs: 8 });
    const meta = env.openDB<Uint8Array, Uint8Array>({ name: "meta", encoding: "binary", keyEncoding: "binary" });
    meta.transactionSync(() => meta.putSync(META_KEYS.schemaVersion, encodeU32(version)));
    await env.close();
  },
  cleanup: (path) => Promise.resolve(rmSync(path, { recursive: true, force: true })),
});

test("LmdbChainStore: a path with a dot is still a directory", async () => {
  const parent = newDir();
  try {
    const path = join(parent, "node0.chain");
    const s = await LmdbChainStore.open({ chainId: CHAIN_ID, path });
    await s.close();
    const again = await LmdbChainStore.open({ chainId: CHAIN_ID, path });
    assert.equal(again.backend, "lmdb");
    await again.close();
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});


// ---- crashes: a child process writes in a loop and is killed with SIGKILL ---------------------------------------
//
// SIGKILL leaves the OS page cache intact, so these tests show what a process crash can leave behind (atomicity, and
// that nothing acknowledged is lost), not what a power loss can (that is the tripwire on the sync options below).

const CHILD = fileURLToPath(new URL("./support/crashChild.js", import.meta.url));
/** A hang guard on one child: a round takes well under a second here. */
const CHILD_DEADLINE_MS = 10_000;

interface ChildLine {
  readonly kind: "ack" | "mid";
  readonly n: number;
}

interface ChildRun {
  /** Every `ack` the child printed, read to the end of its stdout: none is dropped, including those after the kill was sent. */
  readonly acks: readonly number[];
  /** Every `mid` it printed (mode mid). */
  readonly mids: readonly number[];
  /** The test sent SIGKILL (false: the child died before it was asked to). */
  readonly killSent: boolean;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

/**
 * Runs crashChild with `args`. After each line it reads, `killAfter` may return a delay in ms: SIGKILL is then sent by
 * pid after that delay (0: at once, in the same tick as the line was read). Resolves when the child is gone and its
 * stdout is read to the end. The child is killed by pid in a finally whatever happens.
 */
async function runAndKill(args: readonly string[], killAfter: (line: ChildLine) => number | undefined): Promise<ChildRun> {
  const child = spawn(process.execPath, [CHILD, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const acks: number[] = [];
  const mids: number[] = [];
  let killSent = false;
  let stderr = "";
  let bad: string | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  let hung = false;
  const kill = (): void => {
    if (killSent || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    killSent = true;
    process.kill(child.pid, "SIGKILL");
  };
  const guard = setTimeout(() => {
    hung = true;
    kill();
  }, CHILD_DEADLINE_MS);
  try {
    let buffered = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const l of lines) {
        const m = /^(ack|mid) (\d+)$/.exec(l);
        if (m === null) {
          bad ??= l;
          continue;
        }
        const line: ChildLine = { kind: m[1] as "ack" | "mid", n: Number(m[2]) };
        (line.kind === "ack" ? acks : mids).push(line.n);
        if (killSent || killTimer !== undefined) continue;
        const delay = killAfter(line);
        if (delay === 0) kill();
        else if (delay !== undefined) killTimer = setTimeout(kill, delay);
      }
    });
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once("error", reject);
      // "close": the process is gone and its stdout and stderr are read to the end.
      child.once("close", (c, s) => resolve([c, s]));
    });
    assert.equal(hung, false, `the child never reached the kill condition within ${CHILD_DEADLINE_MS} ms; acks ${acks.length}, mids ${mids.join(",")}\n${stderr}`);
    assert.equal(bad, undefined, `the child printed an unexpected line\n${stderr}`);
    assert.equal(buffered, "", "the child's last line is cut: a line is written whole by one write(2)");
    return { acks, mids, killSent, code, signal, stderr };
  } finally {
    clearTimeout(guard);
    clearTimeout(killTimer);
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, "SIGKILL");
      } catch {
        // Already gone between the check and the kill.
      }
    }
  }
}

/** The child died of the SIGKILL this test sent, not of its own accord (a crash, an exit) before it. */
function assertKilledBySigkill(run: ChildRun): void {
  assert.ok(run.killSent, `the child died before the test killed it (code ${run.code}, signal ${run.signal})\n${run.stderr}`);
  assert.equal(run.signal, "SIGKILL", `the child was not killed by SIGKILL: code ${run.code}, signal ${run.signal}\n${run.stderr}`);
  assert.equal(run.code, null);
}

function lastAck(run: ChildRun): number {
  assert.ok(run.acks.length > 0, "the child acknowledged nothing");
  run.acks.forEach((a, i) => assert.equal(a, i === 0 ? run.acks[0] : run.acks[i - 1]! + 1, "acks are consecutive"));
  return run.acks[run.acks.length - 1]!;
}

/** The chain the child commits (the fixtures are deterministic), heights 0..top. */
function crashChain(top: number): ChainBlock[] {
  const out: ChainBlock[] = [];
  for (let h = 0; h <= top; h++) out.push(nextBlock(out[h - 1] ?? null, crashTxs(h)));
  return out;
}

/**
 * Whether every record of block `b`'s commit is in the store ("present") or none is ("absent"): the block at its
 * height, every tx-index entry and every state write. Fails on anything in between, and on a record that is there
 * with the wrong content.
 */
function commitState(s: LmdbChainStore, b: ChainBlock, bigHeight: number): "present" | "absent" {
  const h = b.block.header.height;
  let found = 0;
  let missing = 0;
  const rec = s.committedAt(h);
  if (rec === undefined) missing++;
  else {
    found++;
    assert.deepEqual(rec.hash, b.hash, `height ${h} holds another block`);
  }
  b.block.txs.forEach((tx, i) => {
    const loc = s.txLocation(sha256(tx));
    if (loc === undefined) missing++;
    else {
      found++;
      assert.deepEqual(loc, { height: h, index: i, ok: true });
    }
  });
  for (const [key, value] of crashWrites(h, bigHeight)) {
    const stored = s.get(key);
    if (stored === undefined) missing++;
    else {
      found++;
      assert.ok(bytesEqual(stored, value), `height ${h}: state key ${new TextDecoder().decode(key)} holds another value`);
    }
  }
  assert.equal(found + missing, 1 + CRASH_TXS_PER_BLOCK + crashWriteCount(h, bigHeight));
  if (missing === 0) return "present";
  if (found === 0) return "absent";
  assert.fail(`height ${h} is half there after the crash: ${found} of ${found + missing} records present`);
}

/**
 * Reopens the store the child wrote and checks it is one whole prefix of the child's chain: every acknowledged height
 * (none dropped), at most the one height in flight at the kill beyond that, each height wholly present, the next
 * wholly absent. Returns the head height.
 */
async function checkReopened(dir: string, run: ChildRun, bigHeight: number): Promise<number> {
  const acked = lastAck(run);
  // Opening is part of the claim: a crash must not leave a store that refuses to open.
  const s = await LmdbChainStore.open({ chainId: CHAIN_ID, path: dir });
  try {
    const head = s.head();
    assert.ok(head !== null, "the store lost its head");
    assert.ok(head.height >= acked, `head ${head.height} is below the last acknowledged commit ${acked}`);
    // The child starts height n + 1 only after it printed ack n: one unacknowledged height at most can have landed.
    assert.ok(head.height <= acked + 1, `head ${head.height} is beyond the commit in flight (last ack ${acked})`);
    const chain = crashChain(head.height + 1);
    assert.deepEqual(head.hash, chain[head.height]!.hash);
    // The "last" state key moves in the same transaction as the head.
    const last = s.get(utf8("last"));
    assert.equal(last === undefined ? undefined : new TextDecoder().decode(last), String(head.height), "the state key written with the head is from another height");
    for (let h = 0; h <= head.height; h++) assert.equal(commitState(s, chain[h]!, bigHeight), "present", `height ${h} is at or below the head`);
    assert.equal(commitState(s, chain[head.height + 1]!, bigHeight), "absent", "a height above the head is (partly) stored");
    return head.height;
  } finally {
    await s.close();
  }
}

test("LmdbChainStore: a process SIGKILLed at a random moment during commits keeps every acknowledged height, whole", async (t) => {
  const rng = seededRng(t);
  for (let round = 0; round < 3; round++) {
    const dir = newDir();
    try {
      const atLeast = 5 + rng.int(10);
      // The kill lands wherever the child is after the delay: often inside a commit (one takes a few ms).
      const delay = rng.int(30);
      const run = await runAndKill(["commit", dir], (l) => (l.kind === "ack" && l.n >= atLeast ? delay : undefined));
      assertKilledBySigkill(run);
      assert.ok(lastAck(run) >= atLeast);
      await checkReopened(dir, run, -1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test("LmdbChainStore: a process SIGKILLed inside a large write transaction reopens with that write wholly there or wholly absent", async (t) => {
  const rng = seededRng(t);
  // The child prints "mid" from inside the big block's transaction (from the state-write iterator the store consumes
  // in it), before write `markAt`. An early mark, killed at once, leaves thousands of puts and the commit still to
  // do: the kill lands inside the transaction, and the test checks it did. A mark after the last write leaves only
  // LMDB's commit itself (page writes, fsync, meta page): killed at once, or a few milliseconds into it.
  const all = CRASH_TXS_PER_BLOCK + BIG_WRITES;
  const rounds = [
    { markAt: rng.int(all / 2), delay: 0 },
    { markAt: all, delay: 0 },
    { markAt: all, delay: 1 + rng.int(50) },
    { markAt: all, delay: 1 + rng.int(50) },
  ];
  for (const { markAt, delay } of rounds) {
    const dir = newDir();
    try {
      const bigHeight = 2 + rng.int(4);
      const run = await runAndKill(["mid", dir, String(bigHeight), String(markAt)], (l) => (l.kind === "mid" ? delay : undefined));
      assertKilledBySigkill(run);
      assert.deepEqual(run.mids, [bigHeight], "the child reached the big transaction once");
      const acked = lastAck(run);
      assert.ok(acked >= bigHeight - 1, "every height before the big one was acknowledged before it began");
      const killedInside = !run.acks.includes(bigHeight);
      if (markAt < all) assert.ok(killedInside, `mark ${markAt}: the big commit returned before the kill landed; the test did not kill inside it`);
      const head = await checkReopened(dir, run, bigHeight);
      t.diagnostic(`mark ${markAt}/${all} at height ${bigHeight}, kill after ${delay} ms: killed ${killedInside ? "inside the transaction" : "after it returned"}; the big write is ${head >= bigHeight ? "present" : "absent"}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test("LmdbChainStore: the environment keeps synchronous, non-overlapping commits (what makes saves durable)", () => {
  // SIGKILL leaves the OS page cache intact, so the kill tests cannot tell a flushed commit from a buffered one: this
  // tripwire is what stops someone from turning on lmdb-js's overlapping sync or noSync for speed.
  assert.equal(LMDB_ENV_OPTIONS.overlappingSync, false);
  assert.equal(LMDB_ENV_OPTIONS.noSync, false);
});

test("LmdbChainStore: every safety state acknowledged as saved survives SIGKILL of the process (not a power-loss test)", async (t) => {
  const rng = seededRng(t);
  const dir = newDir();
  try {
    const atLeast = 20 + rng.int(20);
    const delay = rng.int(20);
    const run = await runAndKill(["safety", dir], (l) => (l.n >= atLeast ? delay : undefined));
    assertKilledBySigkill(run);
    const acked = lastAck(run);
    const s = await LmdbChainStore.open({ chainId: CHAIN_ID, path: dir });
    try {
      const saved = s.loadSafetyState();
      assert.ok(saved !== undefined);
      const m = /^safety (\d+)$/.exec(new TextDecoder().decode(saved));
      assert.ok(m !== null, "the stored safety state is not one the child wrote");
      const n = Number(m[1]);
      assert.ok(n >= acked, `stored safety state ${n} is older than the last one acknowledged (${acked})`);
      assert.ok(n <= acked + 1, `stored safety state ${n} is newer than the save in flight (last ack ${acked})`);
    } finally {
      await s.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
