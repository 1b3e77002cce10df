import type { BenchResult, BenchSuite } from "./harness.js";
import { matchesFilter } from "./harness.js";
import { ModularApplication } from "../src/chain/app/modular.js";
import { ParacrossModule } from "../src/chain/app/paracross/module.js";
import { commitSigningBytes, decodeCommitTx } from "../src/chain/app/paracross/format.js";
import { testCommitTx, testMessage, testPara } from "../src/chain/app/paracross/testonly.js";
import { BLS_BACKEND_NAMES, loadBlsBackend } from "../src/crypto/bls/backend.js";
import type { BlsBackend } from "../src/crypto/bls/backend.js";
import { defaultHasher } from "../src/crypto/hash/backends.js";
import { MapState } from "../src/chain/app/mapState.js";

/**
 * `quire bench paracross [--bls blst|noble|herumi]`: the main chain's CPU for one para height, at one main node. Each
 * round, the N para nodes (N = 4 and 64) each send a commit tx carrying K consecutive heights (K = 1, and 3: what the
 * sender batches in steady state, one tx in flight while the next heights are made); one timed call is everything a
 * main node spends on them: the mempool admission (`check`: the tx's commit signatures verified in one batch, since
 * review finding 2 of Dec 3) of the N txs, then the block that carries them (beginBlock finds every signature already
 * verified, deliver aggregates, endBlock, the state root). Reported per para height (the call ÷ K). Every round really
 * makes K heights done; messages are signed before timing. Baseline in the same run: checking the same signatures one
 * by one (parse with subgroup check + one pairing each), per height, without any state work.
 */

const HEIGHTS: Record<number, number> = { 4: 40, 64: 12 };
const WARMUP_HEIGHTS = 3;

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

function runSize(bls: BlsBackend, n: number, perTx: number): { module: number[]; naive: number[] } {
  const hasher = defaultHasher();
  const para = testPara(bls, "bench", n);
  const rounds = HEIGHTS[n]! + WARMUP_HEIGHTS;
  // Round r carries heights (r−1)·K + 1 .. r·K; para height h is made from main block h − 1.
  const blocks: Uint8Array[][] = [[]];
  for (let r = 1; r <= rounds; r++) {
    const msgs = Array.from({ length: perTx }, (_, j) => testMessage("bench", (r - 1) * perTx + j + 1, (r - 1) * perTx + j));
    blocks.push(para.secrets.map((sk, i) => testCommitTx(bls, hasher, sk, i, msgs)));
  }
  const state = new MapState();
  const app = new ModularApplication({}, { committed: state, hasher });
  const px = app.use(new ParacrossModule({ paras: [para.registration] }, { state: app.namespace(0x20), bls, hasher, escrow: { releaseEscrow: () => true } }));
  const module: number[] = [];
  // Main block heights run ahead of the para heights they carry (a commit's main height is below its block's).
  let mainHeight = 0;
  for (let b = 0; b < blocks.length; b++) {
    const txs = blocks[b]!;
    mainHeight = Math.max(mainHeight + 1, b * perTx + 1);
    const t0 = process.hrtime.bigint();
    for (const tx of txs) if (!app.check(tx).ok) throw new Error("bench: a commit tx was refused at admission");
    app.beginBlock(state, { height: mainHeight, txCount: txs.length, txs });
    let ok = 0;
    for (let i = 0; i < txs.length; i++) if (app.deliver(txs[i]!, i).ok) ok++;
    app.commit();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    // Checked inside the loop: the heights became done, by the 2/3 that signed before they were done.
    if (b > 0 && (px.status("bench")!.doneHeight !== b * perTx || ok !== Math.ceil((2 * n) / 3))) throw new Error(`bench: round ${b} not done (ok ${ok})`);
    if (b > WARMUP_HEIGHTS) module.push(ms / perTx);
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
      let naiveMean: number | null = null;
      for (const perTx of [1, 3]) {
        const name = `admission + block, ${perTx} height${perTx > 1 ? "s" : ""} per tx (${bls.name})`;
        const wantModule = matchesFilter(`${group} ${name}`, opts.filter);
        const wantNaive = perTx === 1 && matchesFilter(`${group} naive per-signature verify (${bls.name})`, opts.filter);
        if (!wantModule && !wantNaive) continue;
        const r = runSize(bls, n, perTx);
        if (perTx === 1) {
          naiveMean = r.naive.reduce((x, y) => x + y, 0) / r.naive.length;
          if (wantNaive) rows.push(row(group, `naive per-signature verify (${bls.name})`, n, r.naive, null));
        }
        if (wantModule) rows.push(row(group, name, n, r.module, naiveMean));
      }
    }
    return rows;
  },
};
