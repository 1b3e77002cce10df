import { readFileSync } from "node:fs";
import { UsageError, checkFlags, intFlag, parseArgs, stringFlag } from "./args.js";
import { loadGenesis } from "../node/genesis.js";
import type { Genesis } from "../node/genesis.js";
import { NodeError } from "../node/errors.js";
import type { BlsBackend } from "../crypto/bls/backend.js";
import { loadBlsBackend } from "../crypto/bls/backend.js";
import { defaultHasher } from "../crypto/hash/backends.js";
import { verifyDoneCommit } from "../chain/app/paracross/verify.js";
import type { DoneCommitDoc } from "../chain/app/paracross/verify.js";
import { decodeBlocks, decodeParaCommit, decodeReceipt } from "../rpc/json.js";
import type { TxReceipt } from "../rpc/api.js";
import { receiptOf, verifyReceipt } from "../chain/receipt.js";
import { commitProofOf, MAX_COMMIT_PROOF_HEADERS, verifyCommitProof } from "../consensus/commitProof.js";
import { auditChainOf } from "./auditor.js";
import { bytesEqual, fromHex, toHex } from "../util/bytes.js";
import { RpcClient } from "../rpc/client.js";
import { QuireError } from "../util/errors.js";

const USAGE = [
  "usage: quire verify para-commit --genesis MAIN_GENESIS.json (--file DOC.json | --rpc URL --title T --height H)",
  "       checks a done para commit (the JSON of GET /v1/para/:title/:height on the main chain) against the para",
  "       nodes' BLS keys registered in the main genesis: ≥ 2/3 signers and their aggregate signature over the",
  "       message. Exit 0 valid, 1 invalid (the typed code on stdout), 2 bad usage or unreadable input",
  "       quire verify commit --genesis GENESIS.json (--file DOC.json | --rpc URL --height H)",
  "       checks a commit proof (the JSON of GET /v1/blocks/:h/commit-proof) from the genesis alone: the headers link by",
  "       hash up to the first consecutive-view pair and its two QCs verify against the genesis validators",
  "       quire verify receipt --genesis GENESIS.json (--file DOC.json | --rpc URL --tx ID)",
  "       checks a tx receipt (the JSON of GET /v1/tx/:id/receipt) from the genesis alone: the tx is in its block's",
  "       txRoot, its result bit is the one the next header's parentResults certifies, and the block is committed",
].join("\n");

/** `quire verify para-commit …` (offline checks of documents a chain serves). */
export async function verifyCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const args = parseArgs(rest, ["help"]);
  if (sub === undefined || sub === "help" || sub === "--help" || args.flags.has("help")) {
    process.stdout.write(USAGE + "\n");
    return sub === undefined ? 2 : 0;
  }
  if (sub === "commit") return verifyCommitProofCommand(args);
  if (sub === "receipt") return verifyReceiptCommand(args);
  if (sub !== "para-commit") throw new UsageError(`unknown check "${sub}"\n${USAGE}`);
  checkFlags(args, ["genesis", "file", "rpc", "title", "height"]);
  const genesisFile = stringFlag(args, "genesis");
  if (genesisFile === undefined) throw new UsageError(`--genesis is required\n${USAGE}`);
  const file = stringFlag(args, "file");
  const rpc = stringFlag(args, "rpc");
  if ((file === undefined) === (rpc === undefined)) throw new UsageError(`give exactly one of --file and --rpc\n${USAGE}`);
  const bls = await loadBlsBackend();
  const genesis = await loadGenesis(genesisFile, bls);
  let doc: DoneCommitDoc;
  if (file !== undefined) {
    const text = readText(file);
    try {
      doc = decodeParaCommit(JSON.parse(text));
    } catch (e) {
      if (e instanceof SyntaxError || e instanceof QuireError) {
        process.stdout.write(`invalid: MALFORMED: ${e.message}\n`);
        return 1;
      }
      throw e;
    }
  } else {
    const title = stringFlag(args, "title");
    const height = intFlag(args, "height");
    if (title === undefined || height === undefined) throw new UsageError(`--rpc needs --title and --height\n${USAGE}`);
    const found = await new RpcClient({ url: rpc! }).paraCommit(title, height);
    if (found === null) {
      process.stdout.write(`invalid: COMMIT_NOT_DONE: ${rpc} has no done commit for ${JSON.stringify(title)} height ${height}\n`);
      return 1;
    }
    if (found.title !== title || found.height !== height) {
      process.stdout.write(`invalid: MALFORMED: asked for ${title}/${height}, got ${found.title}/${found.height}\n`);
      return 1;
    }
    doc = found;
  }
  const reg = genesis.paras.find((p) => p.title === doc.title);
  const registration = reg === undefined ? undefined : { title: reg.title, nodes: reg.nodes.map((n) => n.publicKey) };
  const v = verifyDoneCommit(doc, registration, bls, defaultHasher());
  if (!v.ok) {
    process.stdout.write(`invalid: ${v.code}: ${v.reason}\n`);
    return 1;
  }
  process.stdout.write(`valid: ${JSON.stringify(doc.title)} height ${doc.height} done, ${v.signerCount} of ${registration!.nodes.length} para nodes signed\n`);
  return 0;
}

/** `quire verify commit`: a commit proof checked against the genesis's validators (consensus/commitProof.ts). */
async function verifyCommitProofCommand(args: ReturnType<typeof parseArgs>): Promise<number> {
  checkFlags(args, ["genesis", "file", "rpc", "height"]);
  const genesisFile = stringFlag(args, "genesis");
  if (genesisFile === undefined) throw new UsageError(`--genesis is required\n${USAGE}`);
  const file = stringFlag(args, "file");
  const rpc = stringFlag(args, "rpc");
  const height = intFlag(args, "height");
  if ((file === undefined) === (rpc === undefined) || height === undefined) throw new UsageError(`give --height and exactly one of --file and --rpc\n${USAGE}`);
  const bls = await loadBlsBackend();
  const genesis = await genesisWithoutEpochs(genesisFile, bls);
  const text = file === undefined ? undefined : readText(file);
  let blocks;
  try {
    blocks = text !== undefined ? decodeBlocks(JSON.parse(text), height, height + MAX_COMMIT_PROOF_HEADERS - 1) : await new RpcClient({ url: rpc! }).commitProof(height);
  } catch (e) {
    if (e instanceof SyntaxError || e instanceof QuireError) {
      process.stdout.write(`invalid: MALFORMED: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  const proof = blocks === null ? null : commitProofOf(blocks);
  if (proof === null) {
    process.stdout.write(`invalid: NOT_COMMITTED: no commit proof for height ${height}\n`);
    return 1;
  }
  const r = verifyCommitProof(proof, auditChainOf(genesis, bls));
  if (!r.ok) {
    process.stdout.write(`invalid: ${r.code}: ${r.reason}\n`);
    return 1;
  }
  process.stdout.write(`valid: block ${r.height} (${toHex(r.hash)}) of ${genesis.chainId} is committed\n`);
  return 0;
}

/** `quire verify receipt`: a tx receipt checked against the genesis's validators (chain/receipt.ts). */
async function verifyReceiptCommand(args: ReturnType<typeof parseArgs>): Promise<number> {
  checkFlags(args, ["genesis", "file", "rpc", "tx"]);
  const genesisFile = stringFlag(args, "genesis");
  if (genesisFile === undefined) throw new UsageError(`--genesis is required\n${USAGE}`);
  const file = stringFlag(args, "file");
  const rpc = stringFlag(args, "rpc");
  const txId = stringFlag(args, "tx");
  if ((file === undefined) === (rpc === undefined) || (rpc !== undefined) !== (txId !== undefined)) throw new UsageError(`give --file, or --rpc with --tx\n${USAGE}`);
  let id: Uint8Array | undefined;
  if (txId !== undefined) {
    if (!/^[0-9a-f]{64}$/.test(txId)) throw new UsageError(`--tx must be 64 lower-case hex digits, not ${JSON.stringify(txId)}`);
    id = fromHex(txId);
  }
  const bls = await loadBlsBackend();
  const genesis = await genesisWithoutEpochs(genesisFile, bls);
  const text = file === undefined ? undefined : readText(file);
  let doc: TxReceipt | null;
  try {
    doc = text !== undefined ? decodeReceipt(JSON.parse(text)) : await new RpcClient({ url: rpc! }).receipt(id!);
  } catch (e) {
    if (e instanceof SyntaxError || e instanceof QuireError) {
      process.stdout.write(`invalid: MALFORMED: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  if (doc === null) {
    process.stdout.write(`invalid: NOT_COMMITTED: ${rpc} has no receipt for ${txId} (unknown, pending, or not provable yet)\n`);
    return 1;
  }
  if (id !== undefined && !bytesEqual(doc.id, id)) {
    process.stdout.write(`invalid: ID_MISMATCH: asked for ${txId}, got a receipt for ${toHex(doc.id)}\n`);
    return 1;
  }
  const receipt = receiptOf(doc);
  if (receipt === null) {
    process.stdout.write(`invalid: NOT_COMMITTED: the receipt's last two blocks carry no QC\n`);
    return 1;
  }
  const r = verifyReceipt(receipt, auditChainOf(genesis, bls));
  if (!r.ok) {
    process.stdout.write(`invalid: ${r.code}: ${r.reason}\n`);
    return 1;
  }
  process.stdout.write(`valid: tx ${toHex(r.id)} is tx ${r.index} of committed block ${r.height} of ${genesis.chainId}; it ${r.failed ? "failed" : "succeeded"}\n`);
  return 0;
}

/** A document named on the command line; an unreadable file is bad usage (exit 2), not an invalid document. */
function readText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
  }
}

/**
 * Commit proofs and receipts are checked against the genesis set alone: on a chain that changes its set by epoch
 * (the validators module) a block after the first change would read as invalid. Refused instead (issue 16: serving
 * each epoch's change receipt, `GET /v1/epochs`, is left undone).
 */
async function genesisWithoutEpochs(file: string, bls: BlsBackend): Promise<Genesis> {
  const genesis = await loadGenesis(file, bls);
  if (genesis.app.modules.includes("validators")) {
    throw new NodeError("EPOCHS_UNSUPPORTED", `${file}: this chain changes its validator set by epoch (the validators module); quire verify checks certificates against the genesis set only and does not follow epochs yet`);
  }
  return genesis;
}
