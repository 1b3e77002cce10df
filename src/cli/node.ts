import { checkFlags, parseArgs, stringFlag, UsageError } from "./args.js";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { applyConfigOverrides, loadNodeConfig } from "../node/config.js";
import { NodeError } from "../node/errors.js";
import type { Logger } from "../node/logger.js";
import { QuireNode } from "../node/node.js";
import { PARA_CONFIG_TYPE, parseParaNodeConfig } from "../node/para/paraConfig.js";
import { ParaNode } from "../node/para/paraNode.js";
import { FOLLOWER_CONFIG_TYPE, parseFollowerConfig } from "../node/follow/followerConfig.js";
import { FollowerNode } from "../node/follow/followerNode.js";

const USAGE = "usage: quire node --config FILE [--set field.path=value ...]   (e.g. --set rpc.port=27000 --set log.level=debug; a quire-para-node-config file runs a para node, a quire-follower-config file a follower)";

/** What the command runs: a validator (`QuireNode`), a para node (`ParaNode`) or a follower (`FollowerNode`). */
interface RunnableNode {
  readonly logger: Logger;
  readonly done: Promise<number>;
  start(): Promise<void>;
  stop(code?: number): Promise<void>;
}

/** Opens the node the config file describes: its `type` says which (a para node config or a validator's). */
async function openNode(file: string, overrides: readonly string[]): Promise<RunnableNode> {
  const path = resolve(file);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new NodeError("BAD_CONFIG", `cannot read config file ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { file: path });
  }
  let type: unknown;
  try {
    type = (JSON.parse(text) as { type?: unknown }).type;
  } catch {
    type = undefined; // the validator config's parser names the JSON error
  }
  if (type === PARA_CONFIG_TYPE || type === FOLLOWER_CONFIG_TYPE) {
    const applied = overrides.length === 0 ? text : applyConfigOverrides(text, path, overrides);
    return type === PARA_CONFIG_TYPE ? ParaNode.open(parseParaNodeConfig(applied, path)) : FollowerNode.open(parseFollowerConfig(applied, path));
  }
  return QuireNode.open(await loadNodeConfig(file, overrides));
}

/** After a stop, the process gets this long to exit on its own before it is ended (a lingering handle is a bug). */
const EXIT_GRACE_MS = 3_000;

/**
 * `quire node --config FILE`: runs one validator until SIGINT or SIGTERM, then stops gracefully (the write in
 * progress finishes — store writes are synchronous, so a signal is handled between two of them —, sockets close)
 * and exits 0. A second signal exits at once with 1. Exit 1 as well when the node stopped on a fatal error. A node
 * started with an IPC channel (by `quire cluster`) also stops when the channel closes: its parent is gone.
 */
export async function nodeCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ["help"]);
  if (args.flags.has("help")) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  checkFlags(args, ["config", "set", "help"]);
  const file = stringFlag(args, "config");
  if (file === undefined || args.positional.length > 0) throw new UsageError(USAGE);
  const node = await openNode(file, args.lists.get("set") ?? []);
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      node.logger.warn("second signal: exiting now", { signal: sig });
      process.exit(1);
    }
    node.logger.info("signal received: stopping", { signal: sig });
    void node.stop(0);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  // Started by `quire cluster` with an IPC channel: when the parent goes away (even killed), the channel closes.
  const onParentGone = () => {
    node.logger.info("parent process gone: stopping");
    void node.stop(0);
  };
  if (process.connected === true) process.once("disconnect", onParentGone);
  try {
    await node.start();
    const code = await node.done;
    if (process.connected === true) {
      process.off("disconnect", onParentGone);
      process.disconnect();
    }
    setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
    return code;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
