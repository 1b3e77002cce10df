/**
 * The certified chain `quire bench catchup` syncs: what a catching-up node checks must hold — checked here with the
 * BLS backend directly (fastAggregateVerify over the signers' keys, not the certificate code that built the QCs), the
 * RFC 6962 root of each block's txs, the block hasher and the parent links, and finally by the node's own sync
 * validation, which must also refuse the chain once one aggregate signature is swapped.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeCertifiedChain } from "../../../bench/certifiedChain.js";
import { encodeKvTx } from "../../../src/chain/app/kvTx.js";
import { buildGenesisBlock } from "../../../src/chain/blocks.js";
import { MemoryChainStore } from "../../../src/chain/store/memoryStore.js";
import { bitmapSignerSets } from "../../../src/consensus/adapters/bitmapSignerSets.js";
import { BlsScheme } from "../../../src/consensus/adapters/blsScheme.js";
import { blockHasher } from "../../../src/consensus/blockHash.js";
import { SchemeCertificates } from "../../../src/consensus/scheme.js";
import { voteMessage } from "../../../src/consensus/signing.js";
import { MessageValidator } from "../../../src/consensus/validation/validator.js";
import { loadBlsBackend } from "../../../src/crypto/bls/backend.js";
import { generateKeyFile } from "../../../src/crypto/bls/keyFile.js";
import { merkleRoot } from "../../../src/crypto/merkle.js";
import type { CertifiedBlock } from "../../../src/domain/types.js";
import { bytesEqual, fromHex, utf8 } from "../../../src/util/bytes.js";

const N = 4;
const BLOCKS = 10;
const TXS = 3;
const chainId = utf8("certified-chain-test");

test("the generated chain carries real quorum certificates, tx roots, hash links and parent outcomes, and passes sync validation", async () => {
  const backend = await loadBlsBackend("blst");
  const keys = [];
  for (let i = 0; i < N; i++) {
    const doc = await generateKeyFile(backend, new Uint8Array(32).fill(i + 1));
    keys.push({ secretKey: backend.secretKeyFromBytes(fromHex(doc.secretKey)), publicKeyBytes: fromHex(doc.publicKey) });
  }
  const genesis = buildGenesisBlock({ timestampMs: 1_000 });
  const hashBlock = blockHasher();
  const genesisHash = hashBlock(genesis.header);
  const store = MemoryChainStore.open({ chainId, genesisHash });
  const tx = (h: number, i: number) => encodeKvTx({ op: "put", nonce: new Uint8Array(8), key: utf8(`k/${h}/${i}`), value: utf8(`v${h}.${i}`) });
  const progress: number[] = [];
  const head = writeCertifiedChain(
    { chainId, genesis, bucketBits: 4, blocks: BLOCKS, txsPerBlock: TXS, tx, commitEvery: 4, onProgress: (h) => progress.push(h) },
    { store, backend, keys },
  );
  assert.equal(head.height, BLOCKS);
  assert.deepEqual(progress, [4, 8, 10], "one store transaction per 4 blocks, the last one short");

  const pks = keys.map((k) => backend.publicKeyFromBytes(k.publicKeyBytes));
  const signerSets = bitmapSignerSets();
  const chain: CertifiedBlock[] = [];
  let prev = store.committedAt(0)!;
  for (let h = 1; h <= BLOCKS; h++) {
    const rec = store.committedAt(h)!;
    const hd = rec.block.header;
    assert.deepEqual([hd.height, hd.view, hd.proposer], [h, h, h % N], `height ${h}: consecutive views, proposer = view mod n`);
    assert.ok(bytesEqual(hd.parent, prev.hash), `height ${h}: links to its parent`);
    assert.ok(bytesEqual(rec.hash, hashBlock(hd)), `height ${h}: stored under its header's hash`);
    assert.ok(bytesEqual(hd.txRoot, merkleRoot(rec.block.txs)), `height ${h}: tx root`);
    assert.deepEqual(rec.block.txs, Array.from({ length: TXS }, (_, i) => tx(h, i)));
    assert.ok(bytesEqual(hd.parentStateRoot, prev.stateRoot) && bytesEqual(hd.parentResults, prev.results), `height ${h}: carries its parent's outcome`);
    const signers = signerSets.decode(rec.qc.signers, N)!;
    assert.deepEqual(signers, [h % N, (h + 1) % N, (h + 2) % N].sort(), `height ${h}: the quorum starting at the proposer signed`);
    assert.equal(rec.qc.view, h);
    assert.ok(bytesEqual(rec.qc.blockHash, rec.hash));
    const sig = backend.signatureFromBytes(rec.qc.aggregateSignature);
    assert.ok(backend.fastAggregateVerify(voteMessage(chainId, h, rec.hash), signers.map((i) => pks[i]!), sig), `height ${h}: the aggregate verifies`);
    chain.push({ block: rec.block, qc: rec.qc });
    prev = rec;
  }
  assert.equal(new Set(chain.map((b) => signerSets.decode(b.qc.signers, N)!.join())).size, N, "every rotation of the signer set occurs");

  // What a catching-up node runs on a sync response: structure, tx roots, links, every QC.
  const certs = new SchemeCertificates({ chainId, validatorCount: N }, new BlsScheme(backend, keys.map((k) => k.publicKeyBytes)), signerSets);
  const validator = () => new MessageValidator({ self: 3, validatorCount: N, genesisHash }, { verifier: certs, txRoot: (txs) => merkleRoot(txs), hashBlock });
  const ok = validator().validate(0, { kind: "syncResponse", body: { requestId: 1, blocks: chain } }, 1, Date.now());
  assert.ok(ok.ok, ok.ok ? "" : ok.code);
  assert.equal(ok.input.kind === "syncResponse" ? ok.input.blocks.length : 0, BLOCKS);
  const swapped = chain.map((b, i) => (i === 5 ? { ...b, qc: { ...b.qc, aggregateSignature: chain[4]!.qc.aggregateSignature } } : b));
  const bad = validator().validate(0, { kind: "syncResponse", body: { requestId: 1, blocks: swapped } }, 1, Date.now());
  assert.deepEqual(bad, { ok: false, code: "QC_BAD_AGGREGATE" });
});
