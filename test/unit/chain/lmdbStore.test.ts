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
import { CHAIN_ID, sha256 } from "./support/fixtures.js";
import { CRASH_TXS_PER_BLOCK, crashTxs } from "./support/crashChild.js";
import { utf8 } from "../../../src/util/bytes.js";
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

// ---- crashes: a child process writes in a loop and is killed with SIGKILL at a random moment --------------------

/** Runs crashChild in `mode` until it has reported `atLeast` writes (plus a random extra delay), then SIGKILLs it. */
async function runAndKill(mode: "commit" | "safety", dir: string, atLeast: number, extraMs: number): Promise<number> {
  const child = spawn(process.execPath, [fileURLToPath(new URL("./support/crashChild.js", import.meta.url)), mode, dir], { stdio: ["ignore", "pipe", "inherit"] });
  let last = -1;
  let buffered = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", () => resolve());
    child.stdout.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const l of lines) last = Number(l);
      if (last >= atLeast) {
        child.stdout.removeAllListeners("data");
        // The kill lands wherever the child is after extraMs: often inside a commit.
        setTimeout(() => child.kill("SIGKILL"), extraMs);
        resolve();
      }
    });
  });
  await exited;
  // Lines written before the kill but not read yet still count: they were reported after the write returned.
  for (const l of buffered.split("\n")) if (l !== "") last = Math.max(last, Number(l));
  return last;
}

test("LmdbChainStore: a process killed during commits reopens at a whole height, never half of one", async (t) => {
  const rng = seededRng(t);
  for (let round = 0; round < 3; round++) {
    const dir = newDir();
    try {
      const reported = await runAndKill("commit", dir, 5 + rng.int(10), rng.int(30));
      const s = await LmdbChainStore.open({ chainId: CHAIN_ID, path: dir });
      try {
        const head = s.head()!;
        assert.ok(head.height >= reported, `head ${head.height} is below the last reported commit ${reported}`);
        // The "last" state key moves in the same transaction as the head.
        assert.deepEqual(s.get(utf8("last")), utf8(String(head.height)));
        for (let h = 0; h <= head.height; h++) {
          const rec = s.committedAt(h)!;
          assert.equal(rec.block.txs.length, CRASH_TXS_PER_BLOCK);
          const txs = crashTxs(h);
          for (const i of [0, CRASH_TXS_PER_BLOCK - 1]) {
            assert.deepEqual(s.txLocation(sha256(txs[i]!)), { height: h, index: i, ok: true });
            assert.deepEqual(s.get(utf8(`h${h} ${i}`)), txs[i]);
          }
        }
        // Nothing of the next height exists.
        const next = head.height + 1;
        assert.equal(s.committedAt(next), undefined);
        for (const i of [0, CRASH_TXS_PER_BLOCK - 1]) {
          assert.equal(s.txLocation(sha256(crashTxs(next)[i]!)), undefined);
          assert.equal(s.get(utf8(`h${next} ${i}`)), undefined);
        }
      } finally {
        await s.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test("LmdbChainStore: the environment keeps synchronous, non-overlapping commits (what makes saves durable)", () => {
  // SIGKILL leaves the OS page cache intact, so the kill tests below cannot tell a flushed commit from a buffered
  // one: this tripwire is what stops someone from turning on lmdb-js's overlapping sync or noSync for speed.
  assert.equal(LMDB_ENV_OPTIONS.overlappingSync, false);
  assert.equal(LMDB_ENV_OPTIONS.noSync, false);
});

test("LmdbChainStore: a safety state reported saved survives SIGKILL of the process (not a power-loss test)", async (t) => {
  const rng = seededRng(t);
  const dir = newDir();
  try {
    const reported = await runAndKill("safety", dir, 20 + rng.int(20), rng.int(20));
    const s = await LmdbChainStore.open({ chainId: CHAIN_ID, path: dir });
    try {
      const saved = s.loadSafetyState();
      assert.ok(saved !== undefined);
      const n = Number(new TextDecoder().decode(saved).replace("safety ", ""));
      assert.ok(n >= reported, `stored safety state ${n} is older than the last one reported saved (${reported})`);
    } finally {
      await s.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
