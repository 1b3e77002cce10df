import type { BenchResult, BenchSuite } from "./harness.js";
import { matchesFilter } from "./harness.js";
import type { StateWriter } from "../src/chain/app/interface.js";
import { ModularApplication } from "../src/chain/app/modular.js";
import { ParacrossModule } from "../src/chain/app/paracross/module.js";
import { commitSigningBytes, decodeCommitTx } from "../src/chain/app/paracross/format.js";
import { testCommitTx, testMessage, testPara } from "../src/chain/app/paracross/testonly.js";
import { BLS_BACKEND_NAMES, loadBlsBackend } from "../src/crypto/bls/backend.js";
import type { BlsBackend } from "../src/crypto/bls/backend.js";
import { defaultHasher } from "../src/crypto/hash/backends.js";
import { bytesKey } from "../src/util/bytes.js";

/**
 * `quire bench paracross [--bls blst|noble|herumi]`: the main chain's CPU for one para height. A main block carries
 * the commit txs of all N para nodes for the same para height (N = 4 and 64); one timed call executes that block
 * through the ModularApplication (beginBlock — where the block's commit signatures are verified together —, every
 * deliver, endBlock and the state root). Each call is the next para height, so every call really makes a height
 * done; the messages are signed before timing. Baseline in the same run: the naive cost of checking the same N
 * signatures one by one (parse with subgroup check + one pairing check each), without any state work.
 */

const HEIGHTS: Record<number, number> = { 4: 40, 64: 12 };
const WARMUP_HEIGHTS = 3;

class MapState implements StateWriter {
  private readonly map = new Map<string, Uint8Array>();
  get(key: Uint8Array): Uint8Array | undefined {
    return this.map.get(bytesKey(key));
  }
  put(key: Uint8Array, value: Uint8Array): void {
    this.map.set(bytesKey(key), value);
  }
  delete(key: Uint8Array): void {
    this.map.delete(bytesKey(key));
  }
}

function row(group: string, backend: string, n: number, samplesMs: number[], baseline: number | null): BenchResult {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const mean = samplesMs.reduce((x, y) => x + y, 0) / samplesMs.length;
  return {
    suite: "paracross",
    group,
    name: `${group} ${backend}`,
    backend,
    size: n,
    items: 1,
    meanNs: mean * 1e6,
    p50Ns: sorted[Math.floor(sorted.length / 2)]! * 1e6,
    opsPerSec: 1000 / mean,
    samples: samplesMs.length,
    speedupVsBaseline: baseline === null ? null : baseline / mean,
  };
}

function runSize(bls: BlsBackend, n: number): { module: number[]; naive: number[] } {
  const hasher = defaultHasher();
  const para = testPara(bls, "bench", n);
  const heights = HEIGHTS[n]! + WARMUP_HEIGHTS;
  // Para height h is made from main block h - 1 and committed in main block h.
  const blocks: Uint8Array[][] = [[]];
  for (let h = 1; h <= heights; h++) {
    const msg = testMessage("bench", h, h - 1);
    blocks.push(para.secrets.map((sk, i) => testCommitTx(bls, hasher, sk, i, [msg])));
  }
  const state = new MapState();
  const app = new ModularApplication({}, { committed: state, hasher });
  const px = app.use(
    new ParacrossModule(
      { paras: [para.registration] },
      { state: app.namespace(0x20), bls, hasher, escrow: { releaseEscrow: () => true } },
    ),
  );
  const module: number[] = [];
  for (let b = 0; b < blocks.length; b++) {
    const txs = blocks[b]!;
    const t0 = process.hrtime.bigint();
    app.beginBlock(state, { height: b, txCount: txs.length, txs });
    let ok = 0;
    for (let i = 0; i < txs.length; i++) if (app.deliver(txs[i]!, i).ok) ok++;
    app.commit();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    // Check inside the measurement loop: the height became done, by the 2/3 that signed before it was done.
    if (b > 0 && (px.status("bench")!.doneHeight !== b || ok !== Math.ceil((2 * n) / 3))) throw new Error(`bench: height ${b} not done (ok ${ok})`);
    if (b > WARMUP_HEIGHTS) module.push(ms);
  }
  const keys = para.registration.nodes.map((k) => bls.publicKeyFromBytes(k));
  const naive: number[] = [];
  for (let b = 1 + WARMUP_HEIGHTS; b < blocks.length; b++) {
    const commits = blocks[b]!.map((tx) => {
      const d = decodeCommitTx(tx);
      if (!d.ok) throw new Error("bench: a commit tx does not decode");
      return d.value;
    });
    const t0 = process.hrtime.bigint();
    for (const c of commits) {
      const s = c.commits[0]!;
      if (!bls.verify(commitSigningBytes(s.message, hasher), keys[c.signer]!, bls.signatureFromBytes(s.signature))) throw new Error("bench: bad signature");
    }
    naive.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return { module, naive };
}

export const suite: BenchSuite = {
  flags: ["bls"],
  async run(flags, opts) {
    const bls = await loadBlsBackend(flags.choice("bls", BLS_BACKEND_NAMES, "blst"));
    const rows: BenchResult[] = [];
    for (const n of [4, 64]) {
      const group = `para height, ${n} nodes`;
      const wantModule = matchesFilter(`${group} paracross module (${bls.name})`, opts.filter);
      const wantNaive = matchesFilter(`${group} naive per-signature verify (${bls.name})`, opts.filter);
      if (!wantModule && !wantNaive) continue;
      const r = runSize(bls, n);
      const naiveMean = r.naive.reduce((x, y) => x + y, 0) / r.naive.length;
      if (wantNaive) rows.push(row(group, `naive per-signature verify (${bls.name})`, n, r.naive, null));
      if (wantModule) rows.push(row(group, `paracross module (${bls.name})`, n, r.module, naiveMean));
    }
    return rows;
  },
};
