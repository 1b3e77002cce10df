/**
 * An in-memory chain with committees by reputation (issue 15), for the tests that verify one across its rotations (the
 * follower's certified chain): five genesis validators with the validators module and `consensus.committee`
 * { size 4, everyHeights 10 }. Every QC holds the last quorum of its epoch's members by position, so the member at
 * position 0 never signs; every block is proposed by position 1 (always at the cap). The epochs below are worked out
 * by hand from the reputation rules (consensus/reputation.ts), not by the module — the fixture signs with them, and
 * each epoch's signers differ from the previous one's, so a module that rotated differently makes the follower refuse
 * the chain:
 *
 *   epoch 0, 1–9:   [0,1,2,3,4]  0 misses 2–8: 100 − (1+…+7) = 72 at the rotation block 8 → top 4 = [1,2,3,4]
 *   epoch 1, 10–19: [1,2,3,4]    1 misses 11–18: 64; passive 0: 64 (after 9) + 9 = 73 → [0,2,3,4] from 20
 *   epoch 2, 20–29: [0,2,3,4]    0 misses 21–28 (its run goes on: 9 + 10 × 7) → 0; passive 1: 55 + 9 = 64 → [1,2,3,4]
 *   epoch 3, 30–:   [1,2,3,4]
 */
import { encodeBitmapIndices } from "../../src/crypto/bitmap/index.js";
import { hash as nodeHash } from "node:crypto";
import { txRoot } from "../../src/chain/blocks.js";
import { blsSigner } from "../../src/consensus/adapters/blsScheme.js";
import { blockHash } from "../../src/consensus/blockHash.js";
import { epochDomain, voteMessage } from "../../src/consensus/signing.js";
import { loadBlsBackend } from "../../src/crypto/bls/backend.js";
import type { BlsBackend, SecretKey } from "../../src/crypto/bls/backend.js";
import { keyGen } from "../../src/crypto/bls/keygen.js";
import type { BlockHeader, QuorumCert } from "../../src/domain/types.js";
import { DEFAULT_CONSENSUS, genesisBlock, genesisJson, parseGenesis, setCertificates } from "../../src/node/genesis.js";
import type { Genesis } from "../../src/node/genesis.js";
import type { BlockSummary, EpochView } from "../../src/rpc/api.js";

export const COMMITTEE_TOP = 32;
export const COMMITTEE_EPOCHS: readonly EpochView[] = [
  { epoch: 0, startHeight: 1, members: [0, 1, 2, 3, 4] },
  { epoch: 1, startHeight: 10, members: [1, 2, 3, 4] },
  { epoch: 2, startHeight: 20, members: [0, 2, 3, 4] },
  { epoch: 3, startHeight: 30, members: [1, 2, 3, 4] },
];

export interface CommitteeChain {
  readonly backend: BlsBackend;
  readonly genesis: Genesis;
  readonly genesisText: string;
  /** Heights 0..COMMITTEE_TOP. */
  readonly main: readonly BlockSummary[];
  txsAt(height: number): Uint8Array[];
  qcFor(height: number, view: number, hash: Uint8Array, epoch?: EpochView): QuorumCert;
}

const sha = (s: string): Uint8Array => new Uint8Array(nodeHash("sha256", s, "buffer"));

export function committeeEpochOf(height: number): EpochView {
  return [...COMMITTEE_EPOCHS].reverse().find((e) => e.startHeight <= height)!;
}

export async function buildCommitteeChain(chainId = "quire-committee-chain"): Promise<CommitteeChain> {
  const backend = await loadBlsBackend("blst");
  const sks: SecretKey[] = Array.from({ length: 5 }, (_, i) => backend.secretKeyFromBytes(keyGen(sha(`committee-chain-${i}`))));
  const validators = await Promise.all(sks.map(async (sk) => ({ publicKey: backend.publicKeyToBytes(backend.publicKeyOf(sk), "compressed"), proofOfPossession: backend.signatureToBytes(await backend.popProve(sk)) })));
  const genesisText = JSON.stringify(
    genesisJson({
      chainId,
      genesisTimeMs: 1_767_225_600_000,
      validators,
      consensus: { ...DEFAULT_CONSENSUS, committee: { size: 4, everyHeights: 10 } },
      app: { name: "quire", bucketBits: 8, modules: ["kv", "validators"] },
    }),
  );
  const genesis = await parseGenesis(genesisText, "test genesis", backend);
  const cid = genesis.chainIdBytes;
  const txsAt = (height: number): Uint8Array[] => [Uint8Array.of(0x01, height)];
  const qcFor = (height: number, view: number, hash: Uint8Array, epoch = committeeEpochOf(height)): QuorumCert => {
    const domain = epochDomain(cid, epoch.epoch);
    const certs = setCertificates(domain, epoch.members.map((i) => backend.publicKeyToBytes(backend.publicKeyOf(sks[i]!), "compressed")), backend);
    const quorum = epoch.members.length - Math.floor((epoch.members.length - 1) / 3);
    const first = epoch.members.length - quorum;
    const votes = epoch.members.slice(first).map((i, k) => ({ view, blockHash: hash, voter: first + k, signature: blsSigner(backend, sks[i]!, first + k).sign(voteMessage(domain, view, hash)) }));
    return certs.assembleQc(votes).qc!;
  };
  const certified = (parent: BlockSummary): BlockSummary => {
    const height = parent.header.height + 1;
    const view = parent.header.view + 1;
    const txs = txsAt(height);
    const h: BlockHeader = {
      parent: parent.hash,
      view,
      height,
      proposer: 1,
      timestampMs: genesis.genesisTimeMs + 100 * height,
      txRoot: txRoot(txs),
      parentStateRoot: sha(`state/${height - 1}`),
      parentResults: encodeBitmapIndices(txsAt(height - 1).length, new Uint32Array(0)),
      // The signers of the QC this block extends; none for an epoch's first block (it extends the root).
      parentSigners: height === 1 || committeeEpochOf(height).startHeight === height ? new Uint8Array(0) : parent.qc!.signers,
    };
    const hash = blockHash(h);
    return { hash, header: h, txCount: txs.length, qc: qcFor(height, view, hash) };
  };
  const g = genesisBlock(genesis);
  const main: BlockSummary[] = [{ hash: blockHash(g.header), header: g.header, txCount: 0, qc: null }];
  while (main.length <= COMMITTEE_TOP) main.push(certified(main[main.length - 1]!));
  return { backend, genesis, genesisText, main, txsAt, qcFor };
}
