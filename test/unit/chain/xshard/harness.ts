/**
 * Shards for the xshard module's tests: each shard is its application over a MapState, executed block by block, with
 * a certified header chain signed by its own 4 BLS validators (real blst keys), so imports carry real commit proofs.
 * Header h+1 carries the sealed state root of block h, as the node's deferred execution does.
 */
import { hash as nodeHash } from "node:crypto";
import { bitmapSignerSets } from "../../../../src/consensus/adapters/bitmapSignerSets.js";
import { BlsScheme, blsSigner } from "../../../../src/consensus/adapters/blsScheme.js";
import { blockHash } from "../../../../src/consensus/blockHash.js";
import { SchemeCertificates } from "../../../../src/consensus/scheme.js";
import { voteMessage } from "../../../../src/consensus/signing.js";
import type { BlsBackend } from "../../../../src/crypto/bls/backend.js";
import { keyGen } from "../../../../src/crypto/bls/keygen.js";
import { ed25519Keygen, ed25519Sign } from "../../../../src/crypto/ed25519.js";
import type { Ed25519KeyPair } from "../../../../src/crypto/ed25519.js";
import { defaultHasher } from "../../../../src/crypto/hash/backends.js";
import type { BlockHeader, QuorumCert } from "../../../../src/domain/types.js";
import { attachSignature, encodeAccountTxBody, signingMessage } from "../../../../src/chain/app/accounts/accountTx.js";
import { buildApplication } from "../../../../src/chain/app/build.js";
import type { BuiltApplication, ModuleName } from "../../../../src/chain/app/build.js";
import { MapState } from "../../../../src/chain/app/mapState.js";
import { encodeCommitProofRecord } from "../../../../src/chain/store/records.js";
import { attachSignatures, encodeTransferBody, transferSigningMessage } from "../../../../src/chain/app/xshard/format.js";
import type { XInput } from "../../../../src/chain/app/xshard/format.js";
import { shardOf } from "../../../../src/chain/app/xshard/network.js";
import type { ShardNetwork } from "../../../../src/chain/app/xshard/network.js";
import { buildImports } from "../../../../src/chain/app/xshard/outbox.js";
import { utf8 } from "../../../../src/util/bytes.js";

export const NETWORK_ID = utf8("quire-test-net");
const N = 4;
const sha = (s: string): Uint8Array => new Uint8Array(nodeHash("sha256", s, "buffer"));

export interface Shard {
  readonly index: number;
  readonly built: BuiltApplication;
  readonly state: MapState;
  /** headers[h]: the header of block h (block h+1's header is made once h executes: it carries h's state root). */
  readonly headers: BlockHeader[];
  readonly qcs: QuorumCert[];
  readonly results: DeliverSummary[];
  /** A QC on `hash` signed by `voters` of this shard. */
  qcFor(view: number, hash: Uint8Array, voters?: readonly number[]): QuorumCert;
}

export type DeliverSummary = readonly ({ ok: true } | { ok: false; code: string })[];

export interface Network {
  readonly shards: Shard[];
  readonly spec: Omit<ShardNetwork, "self">;
  /** An Ed25519 account living on shard `s`. */
  account(s: number): Ed25519KeyPair;
  /** Executes the next block of shard `s`; returns each tx's outcome. */
  execute(s: number, txs: readonly Uint8Array[]): DeliverSummary;
  /** The encoded commit proof of block h of shard s (headers h, h+1 with consecutive views and their QCs). */
  proof(s: number, h: number): Uint8Array;
  /** The imports block h of shard `s` binds for shard `dest`. */
  imports(s: number, h: number, dest: number): Uint8Array[];
}

export function makeNetwork(bls: BlsBackend, S: number, allocations: readonly { pub: Uint8Array; shard: number; balance: number }[], modules: readonly ModuleName[] = ["accounts", "xshard"]): Network {
  const hasher = defaultHasher();
  const keySets = Array.from({ length: S }, (_, s) => Array.from({ length: N }, (_, i) => bls.secretKeyFromBytes(keyGen(sha(`xshard-test/${s}/${i}`)))));
  const spec = {
    id: NETWORK_ID,
    shards: keySets.map((sks, s) => ({ chainId: utf8(`quire-test-net-s${s}`), validators: sks.map((sk) => bls.publicKeyToBytes(bls.publicKeyOf(sk))) })),
  };
  const shards: Shard[] = keySets.map((sks, s) => {
    const state = new MapState();
    const chainId = spec.shards[s]!.chainId;
    const built = buildApplication({ bucketBits: 8, modules, chainId, network: { ...spec, self: s } }, { committed: state, bls, hasher });
    const certs = new SchemeCertificates({ chainId, validatorCount: N }, new BlsScheme(bls, spec.shards[s]!.validators), bitmapSignerSets());
    const signers = sks.map((sk, i) => blsSigner(bls, sk, i));
    const qcFor = (view: number, hash: Uint8Array, voters: readonly number[] = [0, 1, 2]): QuorumCert =>
      certs.assembleQc(voters.map((voter) => ({ view, blockHash: hash, voter, signature: signers[voter]!.sign(voteMessage(chainId, view, hash)) }))).qc!;
    return { index: s, built, state, headers: [], qcs: [], results: [], qcFor };
  });
  const header = (sh: Shard, height: number, parentStateRoot: Uint8Array): void => {
    const parent = height === 0 ? new Uint8Array(32) : blockHash(sh.headers[height - 1]!);
    const h: BlockHeader = { parent, view: height, height, proposer: height % N, timestampMs: 1_000 + height, txRoot: sha(`${sh.index}/txs/${height}`), parentStateRoot, parentResults: new Uint8Array(0), parentSigners: new Uint8Array(0) };
    sh.headers.push(h);
    sh.qcs.push(sh.qcFor(height, blockHash(h)));
  };
  const net: Network = {
    shards,
    spec,
    account(s) {
      for (;;) {
        const k = ed25519Keygen();
        if (shardOf(k.publicKey, S, hasher) === s) return k;
      }
    },
    execute(s, txs) {
      const sh = shards[s]!;
      const height = sh.results.length;
      if (sh.headers.length === height) header(sh, height, new Uint8Array(32));
      const app = sh.built.app;
      app.beginBlock(sh.state, { height, txCount: txs.length, txs });
      const out = txs.map((tx, i) => app.deliver(tx, i));
      const root = app.commit();
      sh.results.push(out);
      header(sh, height + 1, root);
      return out;
    },
    proof(s, h) {
      const sh = shards[s]!;
      return encodeCommitProofRecord({ headers: [sh.headers[h]!, sh.headers[h + 1]!], qcs: [sh.qcs[h]!, sh.qcs[h + 1]!] });
    },
    imports(s, h, dest) {
      const o = shards[s]!.built.xshard!.outboxAt(h);
      return o === null ? [] : buildImports(o, s, dest, net.proof(s, h), hasher);
    },
  };
  // Genesis: mints at height 0 on each shard.
  for (let s = 0; s < S; s++) {
    const mints = allocations.filter((a) => a.shard === s).map((a) => encodeAccountTxBody({ op: "mint", from: a.pub, nonce: 0, amount: a.balance }));
    const out = net.execute(s, [...mints, shards[s]!.built.xshard!.networkTx()]);
    if (!out.every((r) => r.ok)) throw new Error(`genesis of shard ${s} failed: ${JSON.stringify(out)}`);
  }
  return net;
}

/** A signed cross-shard transfer: every input signs the same body for the network. */
export function transferTx(outShard: number, to: Uint8Array, inputs: readonly (XInput & { readonly key: Ed25519KeyPair })[]): Uint8Array {
  const body = encodeTransferBody({ outShard, to, inputs });
  const msg = transferSigningMessage(NETWORK_ID, body);
  return attachSignatures(body, inputs.map((i) => ed25519Sign(i.key.secretKey, msg)));
}

/** A signed intra-shard account transfer on shard `s`'s chain. */
export function accountTransfer(net: Network, s: number, from: Ed25519KeyPair, nonce: number, to: Uint8Array, amount: number): Uint8Array {
  const body = encodeAccountTxBody({ op: "transfer", from: from.publicKey, nonce, amount, to });
  return attachSignature(body, ed25519Sign(from.secretKey, signingMessage(net.spec.shards[s]!.chainId, body)));
}
