/**
 * Test-only builders (era-consensus's `testonly`): deterministic para node keys, commit messages and signed commit
 * txs, shared by the paracross tests and `quire bench paracross`. Not used by the node.
 */
import type { BlsBackend, SecretKey } from "../../../crypto/bls/backend.js";
import { keyGen } from "../../../crypto/bls/keygen.js";
import type { Hasher } from "../../../crypto/hasher.js";
import { Bitset, encodeBitmap } from "../../../crypto/bitmap/index.js";
import { utf8 } from "../../../util/bytes.js";
import type { ParaRegistration } from "../build.js";
import { commitSigningBytes, encodeCommitMessage, encodeCommitTx } from "./format.js";

/** A para chain's nodes with their secret keys. */
export interface TestPara {
  readonly registration: ParaRegistration;
  readonly secrets: readonly SecretKey[];
}

/** `n` deterministic node keys for `title` (the seed makes distinct chains distinct). */
export function testPara(bls: BlsBackend, title: string, n: number, seed = 0): TestPara {
  const secrets: SecretKey[] = [];
  const nodes: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const ikm = new Uint8Array(32);
    ikm.set(utf8(`${title}:${seed}:${i}`).subarray(0, 32));
    const sk = bls.secretKeyFromBytes(keyGen(ikm));
    secrets.push(sk);
    nodes.push(bls.publicKeyToBytes(bls.publicKeyOf(sk), "compressed"));
  }
  return { registration: { title, nodes }, secrets };
}

export interface TestMessageOptions {
  /** Distinguishes two messages of one height (a different block hash). */
  readonly variant?: number;
  /** Failed packed tx indices, over `packed` txs. */
  readonly failed?: readonly number[];
  /** Cross-chain packed tx indices. */
  readonly cross?: readonly number[];
  readonly packed?: number;
}

/** An encoded commit message for (title, height) made from main block `mainHeight`. */
export function testMessage(title: string, height: number, mainHeight: number, o: TestMessageOptions = {}): Uint8Array {
  const packed = o.packed ?? 0;
  return encodeCommitMessage({
    title,
    height,
    mainHeight,
    blockHash: new Uint8Array(32).fill((height * 7 + (o.variant ?? 0)) & 0xff),
    stateRoot: new Uint8Array(32).fill((height + (o.variant ?? 0) * 13) & 0xff),
    results: encodeBitmap(Bitset.fromIndices(packed, o.failed ?? [])),
    crossTxs: encodeBitmap(Bitset.fromIndices(packed, o.cross ?? [])),
  });
}

let nonceCounter = 0;

/** A commit tx of node `signer` over `messages`, signed with `sk` (another node's key forges it). */
export function testCommitTx(bls: BlsBackend, hasher: Hasher, sk: SecretKey, signer: number, messages: readonly Uint8Array[]): Uint8Array {
  const nonce = new Uint8Array(8);
  new DataView(nonce.buffer).setUint32(4, ++nonceCounter);
  return encodeCommitTx({
    signer,
    nonce,
    commits: messages.map((message) => ({ message, signature: bls.signatureToBytes(bls.sign(sk, commitSigningBytes(message, hasher)), "compressed") })),
  });
}
