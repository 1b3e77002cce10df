import { checkFlags, parseArgs, stringFlag, UsageError } from "./args.js";
import { RpcClient } from "../rpc/client.js";
import { toHex } from "../util/bytes.js";

const USAGE = "usage: quire status --rpc URL [--json]";

/** `quire status --rpc URL`: the node's chain id, index, committed height and head, view, leader, peers, mempool. */
export async function statusCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ["json", "help"]);
  if (args.flags.has("help")) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  checkFlags(args, ["rpc", "json", "help"]);
  const url = stringFlag(args, "rpc");
  if (url === undefined || args.positional.length > 0) throw new UsageError(USAGE);
  const client = new RpcClient({ url });
  const s = await client.status();
  const head = await client.block("latest");
  if (args.flags.has("json")) {
    process.stdout.write(JSON.stringify({ ...s, headHash: head === null ? null : toHex(head.hash) }) + "\n");
    return 0;
  }
  const lines = [
    `chain id:   ${s.chainId}`,
    `node:       ${s.nodeIndex}`,
    `height:     ${s.committedHeight}${head === null ? "" : `  (${toHex(head.hash)})`}`,
    `view:       ${s.view} (leader ${s.leader})`,
    `peers:      ${s.peersConnected}`,
    `mempool:    ${s.mempoolSize}`,
  ];
  process.stdout.write(lines.join("\n") + "\n");
  return 0;
}
