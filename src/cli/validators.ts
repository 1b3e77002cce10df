import { checkFlags, choiceFlag, intFlag, parseArgs, stringFlag, UsageError } from "./args.js";
import { submitOrReport, waitCommitted } from "./tx.js";
import { addChange, buildChangeTx } from "../chain/app/validators/module.js";
import type { ChangeSigner } from "../chain/app/validators/module.js";
import type { ValsetChange } from "../chain/app/validators/format.js";
import { BLS_BACKEND_NAMES, loadBlsBackend } from "../crypto/bls/backend.js";
import { loadKeyFile } from "../crypto/bls/keyFile.js";
import { RpcClient } from "../rpc/client.js";
import { bytesEqual, toHex, utf8 } from "../util/bytes.js";

const USAGE = [
  "usage: quire validators list --rpc URL",
  "       quire validators add --key NEW.key --host H --port P --signers K1,K2,... --rpc URL [--no-wait] [--timeout-ms T]",
  "       quire validators remove --index I --signers K1,K2,... --rpc URL [--no-wait] [--timeout-ms T]",
  "  A change is signed by a quorum (n − f) of the current epoch's validators: --signers lists their key files (at",
  "  least a quorum; keys that are not members are refused). It takes effect at the next epoch boundary: the block",
  "  after the one that commits it ends the epoch (src/chain/app/validators/README.md). `add` proves the new key with",
  "  its own signature over the chain id, the key and the address the others will dial.",
].join("\n");

/**
 * `quire validators`: lists the current epoch's set, or submits a validator-set change (the validators module's tx,
 * 0x40) signed with the member keys given, and waits for it to commit.
 */
export async function validatorsCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ["no-wait", "help"]);
  if (args.flags.has("help")) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  checkFlags(args, ["rpc", "key", "host", "port", "index", "signers", "no-wait", "timeout-ms", "backend", "help"]);
  const [sub, ...rest] = args.positional;
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"\n${USAGE}`);
  const url = stringFlag(args, "rpc");
  if (url === undefined) throw new UsageError(`--rpc URL is required\n${USAGE}`);
  const client = new RpcClient({ url });
  const set = await client.validators();
  if (sub === "list") {
    process.stdout.write(`epoch ${set.epoch}: ${set.validators.length} validators\n`);
    for (const v of set.validators) process.stdout.write(`  ${v.index}  ${toHex(v.publicKey)}${v.self ? "  (this node)" : ""}\n`);
    return 0;
  }
  if (sub !== "add" && sub !== "remove") throw new UsageError(USAGE);
  const bls = await loadBlsBackend(choiceFlag(args, "backend", BLS_BACKEND_NAMES, "blst"));
  const signerFiles = (stringFlag(args, "signers") ?? "").split(",").filter((f) => f !== "");
  if (signerFiles.length === 0) throw new UsageError(`--signers K1,K2,... is required\n${USAGE}`);
  const signers: ChangeSigner[] = [];
  for (const f of signerFiles) {
    const key = await loadKeyFile(f, bls);
    const position = set.validators.findIndex((v) => bytesEqual(v.publicKey, key.publicKeyBytes));
    if (position < 0) throw new UsageError(`${f}: not a validator of epoch ${set.epoch}`);
    signers.push({ position, secretKey: key.secretKey });
  }
  const chainId = utf8((await client.status()).chainId);
  let change: ValsetChange;
  if (sub === "add") {
    const keyFile = stringFlag(args, "key");
    const host = stringFlag(args, "host");
    const port = intFlag(args, "port");
    if (keyFile === undefined || host === undefined || port === undefined) throw new UsageError(`add needs --key, --host and --port\n${USAGE}`);
    change = addChange(bls, chainId, (await loadKeyFile(keyFile, bls)).secretKey, host, port);
  } else {
    const index = intFlag(args, "index");
    if (index === undefined) throw new UsageError(`remove needs --index I\n${USAGE}`);
    change = { kind: "remove", index };
  }
  const tx = buildChangeTx(bls, chainId, set.epoch, set.validators.length, change, signers);
  const id = await submitOrReport(client, tx);
  if (id === null) return 1;
  process.stdout.write(`id: ${id}\nepoch ${set.epoch} → ${set.epoch + 1}: ${sub} ${sub === "add" ? `${stringFlag(args, "host")}:${intFlag(args, "port")}` : `validator ${intFlag(args, "index")}`}\n`);
  if (args.flags.has("no-wait")) return 0;
  return waitCommitted(client, id, intFlag(args, "timeout-ms", 30_000)!);
}
