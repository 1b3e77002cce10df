/**
 * Followers of a network on disk (`quire init --followers F`, `quire cluster --followers F`):
 *
 *   DIR/follower<k>/config.json     a quire-follower-config (followerConfig.ts); no key: a follower signs nothing
 *   DIR/follower<k>/data/           created by the follower: its LMDB store
 *
 * Follower k follows the validators round-robin: its upstream list starts at validator k mod N and goes on through
 * all of them, so with fan-out 2 it uses validators k and k+1 (mod N) and the followers' streams spread evenly.
 * `followerOf(k)` makes follower k follow another follower instead (a follower of a follower: same RPC). Every follower
 * forwards client transactions to the validators, from validator k mod N on. Ports: follower k serves RPC on
 * basePort + 2N + k (after the validators' pairs) unless explicit ports are given.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { HostPort, LogLevel } from "../config.js";
import { CONFIG_DEFAULTS } from "../config.js";
import { NodeError } from "../errors.js";
import { DEFAULT_FOLLOW, followerConfigJson, rpcUrlOf } from "./followerConfig.js";

export interface FollowersSpec {
  /** The network directory (holding genesis.json). */
  readonly dir: string;
  readonly followers: number;
  /** The validators' RPC addresses, by index. */
  readonly validatorRpc: readonly HostPort[];
  /** Where follower k binds (and others reach it); default 127.0.0.1. */
  readonly host?: string;
  readonly basePort?: number;
  /** Explicit RPC port per follower (overrides basePort). */
  readonly ports?: readonly number[];
  readonly fanout?: number;
  /** Follower k follows follower `followerOf(k)` (< k) instead of the validators; null: the validators. */
  readonly followerOf?: (k: number) => number | null;
  readonly logLevel?: LogLevel;
}

export interface FollowersLayout {
  readonly configFiles: readonly string[];
  readonly rpcUrls: readonly string[];
}

export async function writeFollowers(spec: FollowersSpec): Promise<FollowersLayout> {
  const f = spec.followers;
  const n = spec.validatorRpc.length;
  if (!Number.isInteger(f) || f < 0 || f > 256) throw new NodeError("BAD_CONFIG", `--followers must be an integer in [0, 256], got ${f}`, { field: "followers" });
  if (spec.ports !== undefined && spec.ports.length !== f) throw new NodeError("BAD_CONFIG", `ports lists ${spec.ports.length} entries for ${f} followers`, { field: "ports" });
  const host = spec.host ?? "127.0.0.1";
  const base = spec.basePort ?? 0;
  const portOf = (k: number) => spec.ports?.[k] ?? base + 2 * n + k;
  if (spec.ports === undefined && (base < 1 || base + 2 * n + f > 65_535)) throw new NodeError("BAD_CONFIG", `--base-port ${base} leaves no room for ${f} followers after ${n} validators`, { field: "basePort" });
  const dir = resolve(spec.dir);
  const configFiles: string[] = [];
  const rpcUrls: string[] = [];
  for (let k = 0; k < f; k++) {
    const byValidators = Array.from({ length: n }, (_, j) => spec.validatorRpc[(k + j) % n]!);
    const up = spec.followerOf?.(k) ?? null;
    if (up !== null && (!Number.isInteger(up) || up < 0 || up >= k)) throw new NodeError("BAD_CONFIG", `follower ${k} can follow only an earlier follower, not ${up}`, { field: "followers" });
    const upstreams = up === null ? byValidators : [{ host, port: portOf(up) }];
    const folder = join(dir, `follower${k}`);
    await mkdir(folder, { recursive: true });
    const doc = followerConfigJson({
      followerIndex: k,
      genesisFile: "../genesis.json",
      dataDir: "data",
      rpc: { host, port: portOf(k) },
      follow: { upstreams, fanout: spec.fanout ?? DEFAULT_FOLLOW.fanout, rangeBlocks: DEFAULT_FOLLOW.rangeBlocks, retryMs: DEFAULT_FOLLOW.retryMs },
      submit: byValidators,
      bls: { backend: CONFIG_DEFAULTS.bls.backend },
      log: { level: spec.logLevel ?? CONFIG_DEFAULTS.log.level },
    });
    const file = join(folder, "config.json");
    await writeFile(file, JSON.stringify(doc, null, 2) + "\n");
    configFiles.push(file);
    rpcUrls.push(rpcUrlOf({ host, port: portOf(k) }));
  }
  return { configFiles, rpcUrls };
}
