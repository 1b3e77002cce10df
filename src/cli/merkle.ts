import { UsageError, checkFlags, choiceFlag, intFlag, parseArgs, readStdin, stringFlag } from "./args.js";
import type { ParsedArgs } from "./args.js";
import { HASH_BACKENDS } from "../crypto/hasher.js";
import type { HashBackend, Hasher } from "../crypto/hasher.js";
import { createHasher } from "../crypto/hash/backends.js";
import { checkInclusion, leafHash, merkleProof, merkleRoot } from "../crypto/merkle.js";
import type { InclusionProof } from "../crypto/merkle.js";
import { bytesEqual, fromHex, toHex } from "../util/bytes.js";
import { InputError } from "../util/errors.js";

const USAGE = [
  "usage: quire merkle root   [--backend wasm|node|noble]             leaves as hex, one per line, on stdin",
  "       quire merkle proof  --index I [--backend wasm|node|noble]   prints {leafIndex, treeSize, root, leafHash, proof}",
  "       quire merkle verify [--root HEX] [--leaf HEX] [--backend wasm|node|noble]",
  "                           reads that JSON on stdin; exit 0 valid, 1 invalid. --root: the root you trust (e.g. a",
  "                           block header's txRoot from another node) instead of the one in the JSON; --leaf: the",
  "                           leaf data, checked against leafHash",
].join("\n");

/**
 * `quire merkle root|proof|verify`: RFC 6962 Merkle roots and inclusion proofs over stdin/stdout.
 * Exit codes: 0 success (or a valid proof), 1 an invalid proof (one-line reason on stdout), 2 bad usage or input.
 */
export async function merkleCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const args = parseArgs(rest, ["help"]);
  if (sub === "help" || sub === "--help" || args.flags.has("help")) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  switch (sub) {
    case "root": {
      checkFlags(args, ["backend"]);
      const hasher = backendOf(args);
      const leaves = parseLeaves(await readStdin());
      process.stdout.write(`${toHex(merkleRoot(leaves, hasher))}\n`);
      return 0;
    }
    case "proof": {
      checkFlags(args, ["backend", "index"]);
      const hasher = backendOf(args);
      const index = intFlag(args, "index");
      if (index === undefined) throw new UsageError(`--index is required\n${USAGE}`);
      const leaves = parseLeaves(await readStdin());
      if (index >= leaves.length) throw new UsageError(`--index ${index} is out of range for ${leaves.length} leaves`);
      const p = merkleProof(leaves, index, hasher);
      const doc = { leafIndex: p.leafIndex, treeSize: p.treeSize, root: toHex(p.root), leafHash: toHex(p.leafHash), proof: p.proof.map(toHex) };
      process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
      return 0;
    }
    case "verify": {
      checkFlags(args, ["backend", "root", "leaf"]);
      const hasher = backendOf(args);
      const parsed = parseProofJson(await readStdin());
      const { proof } = parsed;
      const trusted = hexFlag(args, "root");
      const leaf = hexFlag(args, "leaf");
      if (leaf !== undefined && !bytesEqual(leafHash(leaf, hasher), proof.leafHash)) {
        process.stdout.write("invalid: LEAF_MISMATCH: --leaf does not hash to the proof's leafHash\n");
        return 1;
      }
      // A trusted root wins over the document's own: a proof is only as good as the root it is checked against.
      const root = trusted ?? parsed.root;
      const err = checkInclusion(proof, root, hasher);
      if (err !== null) {
        process.stdout.write(`invalid: ${err.code}: ${err.message}\n`);
        return 1;
      }
      process.stdout.write(`valid: leaf ${proof.leafIndex} of ${proof.treeSize}\n`);
      return 0;
    }
    default:
      throw new UsageError(sub === undefined ? USAGE : `unknown subcommand "${sub}"\n${USAGE}`);
  }
}

function hexFlag(args: ParsedArgs, name: string): Uint8Array | undefined {
  const v = stringFlag(args, name);
  if (v === undefined) return undefined;
  try {
    return fromHex(v);
  } catch (e) {
    if (e instanceof InputError) throw new UsageError(`--${name}: ${e.message}`);
    throw e;
  }
}

function backendOf(args: ParsedArgs): Hasher {
  return createHasher(choiceFlag<HashBackend>(args, "backend", HASH_BACKENDS, "wasm"));
}

/** One leaf per non-blank line, as hex (either case, optional 0x); an empty leaf is written as `0x`. */
function parseLeaves(text: string): Uint8Array[] {
  const leaves: Uint8Array[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "") continue;
    try {
      leaves.push(fromHex(line));
    } catch (e) {
      if (e instanceof InputError) throw new UsageError(`line ${i + 1}: ${e.message}`);
      throw e;
    }
  }
  return leaves;
}

/**
 * The JSON `quire merkle proof` prints. Structure and hex are checked here (a malformed document is a usage
 * error, exit 2); sizes, lengths and the hashing are checkInclusion's job (an invalid proof, exit 1).
 */
function parseProofJson(text: string): { proof: InclusionProof; root: Uint8Array } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`malformed proof JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new UsageError("malformed proof JSON: expected an object");
  const o = doc as Record<string, unknown>;
  const num = (k: string): number => {
    const v = o[k];
    if (typeof v !== "number") throw new UsageError(`malformed proof JSON: "${k}" must be a number`);
    return v;
  };
  const hex = (v: unknown, what: string): Uint8Array => {
    if (typeof v !== "string") throw new UsageError(`malformed proof JSON: ${what} must be a hex string`);
    try {
      return fromHex(v);
    } catch (e) {
      if (e instanceof InputError) throw new UsageError(`malformed proof JSON: ${what}: ${e.message}`);
      throw e;
    }
  };
  if (!Array.isArray(o["proof"])) throw new UsageError('malformed proof JSON: "proof" must be an array of hex strings');
  const proof = (o["proof"] as unknown[]).map((p, i) => hex(p, `proof[${i}]`));
  return {
    proof: { leafIndex: num("leafIndex"), treeSize: num("treeSize"), leafHash: hex(o["leafHash"], '"leafHash"'), proof },
    root: hex(o["root"], '"root"'),
  };
}
