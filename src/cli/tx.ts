import { randomBytes } from "node:crypto";
import { checkFlags, intFlag, parseArgs, stringFlag, UsageError } from "./args.js";
import { encodeKvTx } from "../chain/app/kvTx.js";
import { RpcClient } from "../rpc/client.js";
import { toHex, utf8 } from "../util/bytes.js";

const USAGE = [
  "usage: quire tx put KEY VALUE --rpc URL [--no-wait] [--timeout-ms T]",
  "       quire tx delete KEY --rpc URL [--no-wait] [--timeout-ms T]",
  "       quire tx get KEY --rpc URL                 the committed value (exit 1 if absent)",
  "       quire tx status ID --rpc URL               pending | committed (height, index, ok) (exit 1 if unknown)",
].join("\n");

/** How often `--wait` asks whether the tx committed: a block every few hundred ms at most. */
const POLL_MS = 100;

/**
 * `quire tx`: submits a key-value transaction (KEY and VALUE as UTF-8, a random nonce so the same put twice is two
 * transactions) and, unless --no-wait, waits until the node reports it committed. Prints the tx id, then the
 * height/index/result. Exit 0 committed ok (or submitted with --no-wait), 1 refused / failed / timed out.
 */
export async function txCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ["no-wait", "help"]);
  if (args.flags.has("help")) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  checkFlags(args, ["rpc", "no-wait", "timeout-ms", "help"]);
  const [sub, ...words] = args.positional;
  const url = stringFlag(args, "rpc");
  if (url === undefined) throw new UsageError(`--rpc URL is required\n${USAGE}`);
  const client = new RpcClient({ url });
  const arity = (k: number) => {
    if (words.length !== k) throw new UsageError(`quire tx ${sub} takes ${k} argument${k === 1 ? "" : "s"}\n${USAGE}`);
  };
  switch (sub) {
    case "put":
    case "delete": {
      arity(sub === "put" ? 2 : 1);
      const key = utf8(words[0]!);
      const nonce = new Uint8Array(randomBytes(8));
      const tx = sub === "put" ? encodeKvTx({ op: "put", nonce, key, value: utf8(words[1]!) }) : encodeKvTx({ op: "delete", nonce, key });
      const id = await submitOrReport(client, tx);
      if (id === null) return 1;
      process.stdout.write(`id: ${id}\n`);
      if (args.flags.has("no-wait")) return 0;
      return waitCommitted(client, id, intFlag(args, "timeout-ms", 30_000)!);
    }
    case "get": {
      arity(1);
      const v = await client.kv(words[0]!);
      if (v === null) {
        process.stdout.write("absent\n");
        return 1;
      }
      process.stdout.write(new TextDecoder().decode(v) + "\n");
      return 0;
    }
    case "status": {
      arity(1);
      const s = await client.txStatus(words[0]!);
      if (s === null) {
        process.stdout.write("unknown\n");
        return 1;
      }
      process.stdout.write(s.status === "pending" ? "pending\n" : `committed: height ${s.height}, index ${s.index}, ${s.ok === false ? "failed" : "ok"}\n`);
      return 0;
    }
    default:
      throw new UsageError(USAGE);
  }
}

/**
 * Polls `GET /v1/tx/:id` until the tx is committed (prints its height, index and ok/failed; exit code 0 ok, 1 failed)
 * or the timeout passes (exit code 1). What `quire tx` and `quire account` do after a submission.
 */
export async function waitCommitted(client: RpcClient, id: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await client.txStatus(id);
    if (s !== null && s.status === "committed") {
      process.stdout.write(`committed: height ${s.height}, index ${s.index}, ${s.ok === false ? "failed" : "ok"}\n`);
      return s.ok === false ? 1 : 0;
    }
    if (Date.now() > deadline) {
      process.stdout.write(`not committed yet (${s === null ? "unknown" : s.status}) after the timeout\n`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** Submits `tx`; its id (hex) when the node took it (accepted or already known), else null after printing why not. */
export async function submitOrReport(client: RpcClient, tx: Uint8Array): Promise<string | null> {
  const r = await client.submitTx(tx);
  if (r.status === "full") {
    process.stdout.write(`refused: the mempool is full; retry after ${r.retryAfterSec} s\n`);
    return null;
  }
  if (r.status !== "accepted" && r.status !== "duplicate") {
    process.stdout.write(`refused: ${r.status === "invalid" ? r.reason : r.status}\n`);
    return null;
  }
  return toHex(r.id);
}
