import { parseArgs } from "node:util";
import { UsageError } from "./args.js";
import { attachSignature, encodeAccountTxBody, signingMessage } from "../chain/app/accounts/accountTx.js";
import type { AccountTxInput } from "../chain/app/accounts/accountTx.js";
import { encodeParaTx } from "../chain/app/paracross/format.js";
import { generateAccountKeyFile, loadAccountKeyFile, writeAccountKeyFile } from "../crypto/accountKeyFile.js";
import { ed25519Sign } from "../crypto/ed25519.js";
import type { Ed25519KeyPair } from "../crypto/ed25519.js";
import { RpcClient } from "../rpc/client.js";
import { submitOrReport, waitCommitted } from "./tx.js";
import { fromHex, toHex, utf8 } from "../util/bytes.js";
import { attachSignatures, encodeTransferBody, inputShardsOf, transferId, transferSigningMessage } from "../chain/app/xshard/format.js";
import { shardOf } from "../chain/app/xshard/network.js";
import { defaultHasher } from "../crypto/hash/backends.js";
import { loadNetworkManifest } from "../node/shardNetwork.js";

const USAGE = [
  "usage: quire account new --out FILE [--force]",
  "       quire account balance (PUBKEY | --key FILE) --rpc URL",
  "       quire account transfer --key FILE --to PUBKEY --amount N --rpc URL [--wait] [--timeout-ms T]",
  "       quire account deposit --key FILE --title T --to PARA_PUBKEY --amount N --rpc MAIN_URL [--wait] [--timeout-ms T]",
  "       quire account xtransfer --network NETWORK.json --key FILE [--key FILE …] --amount N [--amount N …] --to PUBKEY [--wait] [--timeout-ms T]",
  "       quire account withdraw --key FILE --title T --to MAIN_PUBKEY --amount N --para-rpc PARA_URL --rpc MAIN_URL [--wait] [--timeout-ms T]",
].join("\n");

const OPTIONS = {
  out: { type: "string" },
  force: { type: "boolean" },
  key: { type: "string", multiple: true },
  network: { type: "string" },
  to: { type: "string" },
  amount: { type: "string", multiple: true },
  title: { type: "string" },
  rpc: { type: "string" },
  "para-rpc": { type: "string" },
  wait: { type: "boolean" },
  "timeout-ms": { type: "string" },
  help: { type: "boolean" },
} as const;

/** How often `--wait` asks whether the tx committed. */

type Values = ReturnType<typeof parse>["values"];

function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
  }
}

/**
 * `quire account`: Ed25519 accounts of the accounts module. `new` writes a key file (mode 0600); `balance` reads an
 * account; `transfer`, `deposit` (main → para) and `withdraw` (para → main) sign a tx with the account's next nonce for
 * the chain it executes on (its id from `GET /v1/status`) and submit it; with --wait, until it commits (exit 1 when it
 * committed failed). Amounts are integers in [1, 2^53).
 */
export async function accountCommand(argv: string[]): Promise<number> {
  const { values: v, positionals } = parse(argv);
  if (v.help === true) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  const [sub, ...words] = positionals;
  switch (sub) {
    case "new": {
      noWords(words);
      const out = need(v.out, "--out FILE");
      const doc = generateAccountKeyFile();
      await writeAccountKeyFile(out, doc, { force: v.force === true });
      process.stdout.write(`wrote ${out} (mode 0600)\npublic key: ${doc.publicKey}\n`);
      return 0;
    }
    case "balance": {
      if (words.length > 1 || (words.length === 1) === (v.key !== undefined)) throw new UsageError(`give PUBKEY or --key FILE\n${USAGE}`);
      const pub = words.length === 1 ? publicKeyArg(words[0]!, "PUBKEY") : (await loadAccountKeyFile(one(v.key, "--key FILE"))).publicKey;
      const a = await new RpcClient({ url: need(v.rpc, "--rpc URL") }).account(pub);
      process.stdout.write(`account ${toHex(pub)}\nbalance: ${a.balance}\nnonce: ${a.nonce}\n`);
      return 0;
    }
    case "xtransfer":
      noWords(words);
      return await sendCrossShard(v);
    case "transfer":
    case "deposit":
    case "withdraw":
      noWords(words);
      return await sendTx(sub, v);
    default:
      throw new UsageError(USAGE);
  }
}

async function sendTx(op: "transfer" | "deposit" | "withdraw", v: Values): Promise<number> {
  const key = await loadAccountKeyFile(one(v.key, "--key FILE"));
  const to = publicKeyArg(need(v.to, "--to PUBKEY"), "--to");
  const amount = amountArg(one(v.amount, "--amount N"));
  const main = new RpcClient({ url: need(v.rpc, "--rpc URL") });
  // A withdrawal is signed for the para chain (where it executes, with the nonce it has there) and reaches it wrapped
  // in a para tx through the main chain, which orders the para chain's txs.
  const signer = op === "withdraw" ? new RpcClient({ url: need(v["para-rpc"], "--para-rpc URL") }) : main;
  const title = op === "transfer" ? undefined : need(v.title, "--title T");
  const chainId = utf8((await signer.status()).chainId);
  const { nonce } = await signer.account(key.publicKey);
  const inner = sign(key, chainId, { op, from: key.publicKey, nonce, amount, to, ...(title === undefined ? {} : { title }) });
  const tx = op === "withdraw" ? encodeParaTx(title!, inner) : inner;
  const id = await submitOrReport(main, tx);
  if (id === null) return 1;
  process.stdout.write(`id: ${id} (${op} of ${amount}, nonce ${nonce})\n`);
  if (v.wait !== true) return 0;
  return waitCommitted(main, id, amountArg(v["timeout-ms"] ?? "30000"));
}

/**
 * A cross-shard transfer (chain/app/xshard): one input per --key (with its --amount, in order), each from the shard its
 * account lives on, to --to on its own shard. Signed by every key for the network's id, submitted to every input
 * shard; with --wait, until the output shard credits it (exit 0) or it is aborted (exit 1).
 */
async function sendCrossShard(v: Values): Promise<number> {
  const manifest = await loadNetworkManifest(need(v.network, "--network NETWORK.json"));
  const keyFiles = v.key ?? [];
  const amounts = (v.amount ?? []).map(amountArg);
  if (keyFiles.length === 0 || keyFiles.length !== amounts.length) throw new UsageError(`give one --amount per --key\n${USAGE}`);
  const to = publicKeyArg(need(v.to, "--to PUBKEY"), "--to");
  const S = manifest.shards.length;
  const hasher = defaultHasher();
  const client = (s: number) => new RpcClient({ url: manifest.shards[s]!.rpc[0]! });
  const inputs = [];
  const keys = [];
  for (const [i, file] of keyFiles.entries()) {
    const key = await loadAccountKeyFile(file);
    const shard = shardOf(key.publicKey, S, hasher);
    const { nonce } = await client(shard).account(key.publicKey);
    inputs.push({ shard, from: key.publicKey, nonce, amount: amounts[i]! });
    keys.push(key);
  }
  const outShard = shardOf(to, S, hasher);
  const body = encodeTransferBody({ outShard, to, inputs });
  const networkId = utf8(manifest.id);
  const msg = transferSigningMessage(networkId, body);
  const tx = attachSignatures(body, keys.map((k) => ed25519Sign(k.secretKey, msg)));
  const xid = toHex(transferId(networkId, body, hasher));
  for (const s of inputShardsOf({ inputs })) {
    const id = await submitOrReport(client(s), tx);
    if (id === null) return 1;
    process.stdout.write(`submitted to shard ${s}: tx ${id}\n`);
  }
  process.stdout.write(`xid: ${xid} (shards ${inputShardsOf({ inputs }).join(",")} → ${outShard})\n`);
  if (v.wait !== true) return 0;
  const deadline = Date.now() + amountArg(v["timeout-ms"] ?? "60000");
  for (;;) {
    const t = await client(outShard).xshardTransfer(fromHex(xid));
    if (t.output !== null && t.output.status !== "collecting") {
      process.stdout.write(`${t.output.status} on shard ${outShard}: ${t.output.sum}\n`);
      return t.output.status === "credited" ? 0 : 1;
    }
    if (Date.now() > deadline) {
      process.stdout.write(`not decided on shard ${outShard} after the timeout (${t.output === null ? "nothing arrived" : "collecting"})\n`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

function one(values: string[] | undefined, what: string): string {
  if (values !== undefined && values.length > 1) throw new UsageError(`${what} is given more than once\n${USAGE}`);
  return need(values?.[0], what);
}

function sign(key: Ed25519KeyPair, chainId: Uint8Array, input: AccountTxInput): Uint8Array {
  const body = encodeAccountTxBody(input);
  return attachSignature(body, ed25519Sign(key.secretKey, signingMessage(chainId, body)));
}

function need(value: string | undefined, what: string): string {
  if (value === undefined || value === "") throw new UsageError(`${what} is required\n${USAGE}`);
  return value;
}

function noWords(words: string[]): void {
  if (words.length > 0) throw new UsageError(`unexpected argument "${words[0]}"\n${USAGE}`);
}

function publicKeyArg(s: string, what: string): Uint8Array {
  if (!/^[0-9a-fA-F]{64}$/.test(s)) throw new UsageError(`${what} must be a 64-hex-digit Ed25519 public key`);
  return fromHex(s);
}

function amountArg(s: string): number {
  const n = /^[1-9][0-9]{0,15}$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n)) throw new UsageError(`"${s}" is not an integer in [1, 2^53)`);
  return n;
}
