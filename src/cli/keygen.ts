import { checkFlags, choiceFlag, parseArgs, stringFlag, UsageError } from "./args.js";
import { BLS_BACKEND_NAMES, loadBlsBackend } from "../crypto/bls/backend.js";
import { generateKeyFile, writeKeyFile } from "../crypto/bls/keyFile.js";

const USAGE = "usage: quire keygen --out FILE [--force] [--backend blst|noble|herumi]";

/**
 * `quire keygen --out FILE [--force]`: a fresh validator key from 32 bytes of OS randomness (IETF KeyGen), written
 * as JSON with mode 0600, with its public key and proof of possession. Prints the path and the public key — never
 * the secret. Refuses to replace an existing file unless --force. All backends produce the same file for the same
 * randomness; --backend only picks which library does the arithmetic.
 */
export async function keygenCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ["force", "help"]);
  if (args.flags.has("help")) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  checkFlags(args, ["out", "force", "backend", "help"]);
  if (args.positional.length > 0) throw new UsageError(`unexpected argument "${args.positional[0]}"; ${USAGE}`);
  const out = stringFlag(args, "out");
  if (out === undefined || out === "") throw new UsageError(`--out FILE is required; ${USAGE}`);
  const backend = await loadBlsBackend(choiceFlag(args, "backend", BLS_BACKEND_NAMES, "blst"));
  const doc = await generateKeyFile(backend);
  await writeKeyFile(out, doc, { force: args.flags.get("force") === true });
  process.stdout.write(`wrote ${out} (mode 0600)\npublic key: ${doc.publicKey}\n`);
  return 0;
}
