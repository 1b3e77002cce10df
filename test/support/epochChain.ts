/**
 * An in-memory chain that changes its validator set by epoch (issue 16), for the tests that verify one across epochs
 * (`quire audit`, the follower's certified chain): four genesis validators with the validators module, a real change
 * tx in block 3 that adds a fifth (epoch 1 from height 5, its QCs signed by five members under
 * `epochDomain(chainId, 1)`), and one in block 12 that removes validator 0 (epoch 2 from height 14). Every QC is
 * assembled from real BLS votes of its epoch's members; the change blocks' txRoots are their txs' roots; views are
 * consecutive (each block commits its parent). The oracle is the chain itself: which set signed which height is known
 * before anything verifies it.
 */
import { encodeBitmapIndices } from "../../src/crypto/bitmap/index.js";
import { hash as nodeHash } from "node:crypto";
import { txRoot } from "../../src/chain/blocks.js";
import { addChange, buildChangeTx } from "../../src/chain/app/validators/module.js";
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

export const TOP = 30;
export const ADD_AT = 3;
export const REMOVE_AT = 12;
/** The epochs the chain's nodes report (what the module schedules). */
export const EPOCHS: readonly EpochView[] = [
  { epoch: 0, startHeight: 1, members: [0, 1, 2, 3] },
  { epoch: 1, startHeight: ADD_AT + 2, members: [0, 1, 2, 3, 4] },
  { epoch: 2, startHeight: REMOVE_AT + 2, members: [1, 2, 3, 4] },
];

export interface EpochChain {
  readonly backend: BlsBackend;
  readonly genesis: Genesis;
  readonly genesisText: string;
  /** Heights 0..TOP. */
  readonly main: readonly BlockSummary[];
  /** Each height's txs: the change blocks' real ones, one junk kv tx elsewhere. */
  txsAt(height: number): Uint8Array[];
  /** The true change blocks' txs. */
  readonly bodies: ReadonlyMap<number, Uint8Array[]>;
  /** A QC of `hash` by a quorum of `epoch`'s members (default: the true epoch of `height`), under that epoch's domain. */
  qcFor(height: number, view: number, hash: Uint8Array, epoch?: EpochView): QuorumCert;
}

const sha = (s: string): Uint8Array => new Uint8Array(nodeHash("sha256", s, "buffer"));

/** The epoch of a height in the chain. */
export function epochOf(height: number): EpochView {
  return epochIn(EPOCHS, height);
}

function epochIn(epochs: readonly EpochView[], height: number): EpochView {
  return [...epochs].reverse().find((e) => e.startHeight <= height)!;
}

export async function buildEpochChain(chainId = "quire-audit-epochs"): Promise<EpochChain> {
  return buildSignedChain({
    chainId,
    keyPrefix: "audit-epochs",
    keys: 5,
    genesisValidators: 4,
    consensus: DEFAULT_CONSENSUS,
    top: TOP,
    epochs: EPOCHS,
    bodies: (backend, cid, sks) => {
      const signedBy = (members: readonly number[], positions: readonly number[]) => positions.map((p) => ({ position: p, secretKey: sks[members[p]!]! }));
      const add = buildChangeTx(backend, cid, 0, 4, addChange(backend, cid, sks[4]!, "127.0.0.1", 26604), signedBy([0, 1, 2, 3], [0, 1, 2]));
      const remove = buildChangeTx(backend, cid, 1, 5, { kind: "remove", index: 0 }, signedBy([0, 1, 2, 3, 4], [1, 2, 3, 4]));
      // Other txs ride along (a kv tx's bytes need not be valid: only the change txs are replayed).
      return new Map([
        [ADD_AT, [Uint8Array.of(0x01, 1, 2, 3), add]],
        [REMOVE_AT, [remove, Uint8Array.of(0x01, 4, 5)]],
      ]);
    },
    proposer: (view) => view % 4,
  });
}

/** What a signed in-memory chain is made of (this file's change chain, committeeChain.ts's committee chain). */
export interface SignedChainSpec {
  readonly chainId: string;
  /** Secret key i is derived from `${keyPrefix}-${i}`. */
  readonly keyPrefix: string;
  readonly keys: number;
  /** The first this many keys are the genesis validators. */
  readonly genesisValidators: number;
  readonly consensus: Genesis["consensus"];
  readonly top: number;
  /** Which set signs which heights (the oracle). */
  readonly epochs: readonly EpochView[];
  /** Blocks with txs of their own; every other height holds one junk kv tx. */
  readonly bodies?: (backend: BlsBackend, chainId: Uint8Array, sks: readonly SecretKey[]) => Map<number, Uint8Array[]>;
  /** The header's proposer (a position in the block's epoch). */
  readonly proposer: (view: number) => number;
  /**
   * The quorum of an epoch's positions that signs each QC: the first ones (default) or the last ones; and whether a
   * header records its parent QC's signers (empty for an epoch's first block, which extends the root).
   */
  readonly signers?: { readonly quorum: "first" | "last"; readonly recorded: boolean };
}

/** A chain of `top` blocks above genesis, views consecutive, each QC assembled from real BLS votes of its epoch's set. */
export async function buildSignedChain(spec: SignedChainSpec): Promise<EpochChain> {
  const backend = await loadBlsBackend("blst");
  const sks: SecretKey[] = Array.from({ length: spec.keys }, (_, i) => backend.secretKeyFromBytes(keyGen(sha(`${spec.keyPrefix}-${i}`))));
  const validators = await Promise.all(
    sks.slice(0, spec.genesisValidators).map(async (sk) => ({ publicKey: backend.publicKeyToBytes(backend.publicKeyOf(sk), "compressed"), proofOfPossession: backend.signatureToBytes(await backend.popProve(sk)) })),
  );
  const genesisText = JSON.stringify(
    genesisJson({ chainId: spec.chainId, genesisTimeMs: 1_767_225_600_000, validators, consensus: spec.consensus, app: { name: "quire", bucketBits: 8, modules: ["kv", "validators"] } }),
  );
  const genesis = await parseGenesis(genesisText, "test genesis", backend);
  const cid = genesis.chainIdBytes;
  const bodies = spec.bodies?.(backend, cid, sks) ?? new Map<number, Uint8Array[]>();
  const txsAt = (height: number): Uint8Array[] => bodies.get(height) ?? [Uint8Array.of(0x01, height)];
  const last = spec.signers?.quorum === "last";
  const qcFor = (height: number, view: number, hash: Uint8Array, epoch = epochIn(spec.epochs, height)): QuorumCert => {
    const domain = epochDomain(cid, epoch.epoch);
    const certs = setCertificates(domain, epoch.members.map((i) => backend.publicKeyToBytes(backend.publicKeyOf(sks[i]!), "compressed")), backend);
    const quorum = epoch.members.length - Math.floor((epoch.members.length - 1) / 3);
    const first = last ? epoch.members.length - quorum : 0;
    const votes = epoch.members.slice(first, first + quorum).map((i, k) => ({ view, blockHash: hash, voter: first + k, signature: blsSigner(backend, sks[i]!, first + k).sign(voteMessage(domain, view, hash)) }));
    return certs.assembleQc(votes).qc!;
  };
  const certified = (parent: BlockSummary): BlockSummary => {
    const height = parent.header.height + 1;
    const view = parent.header.view + 1;
    const txs = txsAt(height);
    const recorded = spec.signers?.recorded === true && height > 1 && epochIn(spec.epochs, height).startHeight !== height;
    const h: BlockHeader = {
      parent: parent.hash,
      view,
      height,
      proposer: spec.proposer(view),
      timestampMs: genesis.genesisTimeMs + 100 * height,
      txRoot: txRoot(txs),
      parentStateRoot: sha(`state/${height - 1}`),
      // The parent's certified results: none of its txs failed (what a replay reads to know its changes succeeded).
      parentResults: encodeBitmapIndices(txsAt(height - 1).length, new Uint32Array(0)),
      parentSigners: recorded ? parent.qc!.signers : new Uint8Array(0),
    };
    const hash = blockHash(h);
    return { hash, header: h, txCount: txs.length, qc: qcFor(height, view, hash) };
  };
  const g = genesisBlock(genesis);
  const main: BlockSummary[] = [{ hash: blockHash(g.header), header: g.header, txCount: 0, qc: null }];
  while (main.length <= spec.top) main.push(certified(main[main.length - 1]!));
  return { backend, genesis, genesisText, main, txsAt, bodies, qcFor };
}
