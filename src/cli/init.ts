import { checkFlags, choiceFlag, intFlag, parseArgs, stringFlag, UsageError } from "./args.js";
import { BLS_BACKEND_NAMES, loadBlsBackend } from "../crypto/bls/backend.js";
import { DEFAULT_BASE_PORT, writeNetwork } from "../node/network.js";
import { DEFAULT_PARA_BASE_PORT, generateParaKeys, paraRegistration, writeParaChain } from "../node/para/paraNetwork.js";
import { writeShardedNetwork } from "../node/shardNetwork.js";
import { writeFollowers } from "../node/follow/followerNetwork.js";

const USAGE = [
  "usage: quire init --validators N --dir DIR [--followers F] [--base-port P] [--hosts h1,h2,...] [--chain-id ID] [--bls-workers W] [--backend blst|noble|herumi] [--para TITLE [--para-nodes N] [--para-base-port P]]",
  "  --spares K also writes DIR/node<N..N+K-1>: validators outside genesis, to add with `quire validators add`, in",
  "  order (the genesis then runs the validators module: src/chain/app/validators/README.md)",
  "  --followers F also writes DIR/follower<k>/config.json: non-voting full nodes (src/node/follow/README.md) on RPC port",
  "  P + 2N + k, following validators k, k+1, ... (mod N) with fan-out 2. To make follower 1 follow follower 0 instead:",
  "  quire node --config DIR/follower1/config.json --set 'follow.upstreams=[{\"host\":\"127.0.0.1\",\"port\":P+2N}]'",
  "       quire init --shards S --validators N --dir DIR [--base-port P] [--chain-id NETWORK_ID] [--bls-workers W] [--backend ...]",
  "  --shards S writes a sharded network: DIR/shard-<i> for i < S, each a network as plain init writes it (genesis,",
  "  node<j>/{config.json, validator.key}, faucet.key: an account of shard i), chain ids NETWORK_ID-s<i>, shard i's",
  "  validator j on ports P + 2(iN + j) and one more (RPC); every genesis carries the same `network` section. And",
  "  DIR/network.json, the manifest tools read: {\"type\": \"quire-network\", \"version\": 1, \"id\": NETWORK_ID,",
  "  \"shards\": [{\"index\", \"chainId\", \"genesisHash\" (hex), \"dir\" (relative), \"rpc\": [URLs]}, ...]}.",
  "       quire init --clusters Z --validators N --dir DIR [--base-port P] [--chain-id NETWORK_ID] [--bls-workers W]",
  "  --clusters Z writes a geo network (src/node/geo/README.md): DIR/cluster-<i>, chain ids NETWORK_ID-c<i>, one",
  "  faucet for the whole network (the same key in every cluster), the manifest with \"kind\": \"clusters\".",
].join("\n");

/**
 * `quire init`: a new network on disk — DIR/genesis.json plus DIR/node<i>/{config.json, validator.key} per validator
 * (keys mode 0600). Validator i listens for peers on P + 2i and serves RPC on P + 2i + 1 (P defaults to 26600).
 * With --hosts (one per validator), nodes bind every interface and reach each other by those names. With --shards S,
 * S such networks and their manifest (src/node/shardNetwork.ts).
 */
export async function initCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ["help"]);
  if (args.flags.has("help")) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  checkFlags(args, ["validators", "dir", "base-port", "hosts", "chain-id", "bls-workers", "backend", "para", "para-nodes", "para-base-port", "shards", "clusters", "followers", "spares", "help"]);
  if (args.positional.length > 0) throw new UsageError(`unexpected argument "${args.positional[0]}"; ${USAGE}`);
  const validators = intFlag(args, "validators");
  const dir = stringFlag(args, "dir");
  if (validators === undefined || dir === undefined) throw new UsageError(`--validators and --dir are required; ${USAGE}`);
  const basePort = intFlag(args, "base-port", DEFAULT_BASE_PORT)!;
  if (basePort < 1 || basePort > 65_535) throw new UsageError(`--base-port must be in [1, 65535], got ${basePort}`);
  const hostsFlag = stringFlag(args, "hosts");
  const hosts = hostsFlag?.split(",").map((h) => h.trim());
  if (hosts !== undefined && hosts.some((h) => h === "")) throw new UsageError(`--hosts has an empty entry: "${hostsFlag}"`);
  const blsWorkers = intFlag(args, "bls-workers");
  const backend = await loadBlsBackend(choiceFlag(args, "backend", BLS_BACKEND_NAMES, "blst"));
  const clusters = intFlag(args, "clusters");
  if (clusters !== undefined && intFlag(args, "shards") !== undefined) throw new UsageError(`--shards and --clusters are two kinds of network: pick one; ${USAGE}`);
  const shards = clusters ?? intFlag(args, "shards");
  if (shards !== undefined) {
    const what = clusters !== undefined ? "cluster" : "shard";
    if (hosts !== undefined || stringFlag(args, "para") !== undefined || intFlag(args, "followers") !== undefined || intFlag(args, "spares") !== undefined) throw new UsageError(`--${what}s does not take --hosts, --para, --followers or --spares (yet); ${USAGE}`);
    const net = await writeShardedNetwork(
      { ...(clusters !== undefined ? { kind: "clusters" as const } : {}), shards, validators, dir, basePort, ...(stringFlag(args, "chain-id") !== undefined ? { networkId: stringFlag(args, "chain-id")! } : {}), ...(blsWorkers !== undefined ? { blsWorkers } : {}) },
      backend,
    );
    const lines = [`wrote a ${shards}-${what} network "${net.id}" of ${validators} validators per ${what} in ${net.dir}`, `  manifest: ${net.manifestFile}`];
    for (const [i, l] of net.shards.entries()) {
      lines.push(`  ${what} ${i} "${l.chainId}": ${l.genesisFile}`, `    faucet: ${l.faucetKeyFile}`);
      l.configFiles.forEach((f, j) => lines.push(`    node ${j}: quire node --config ${f}   (rpc ${l.rpcUrls[j]})`));
    }
    process.stdout.write(lines.join("\n") + "\n");
    return 0;
  }
  // A para chain: its nodes' keys first, since the main genesis registers them (paraNetwork.ts).
  const title = stringFlag(args, "para");
  const paraNodes = intFlag(args, "para-nodes", 4)!;
  const paraKeys = title === undefined ? undefined : await generateParaKeys(paraNodes, backend);
  const layout = await writeNetwork(
    {
      validators,
      dir,
      basePort,
      ...(hosts !== undefined ? { hosts } : {}),
      ...(stringFlag(args, "chain-id") !== undefined ? { chainId: stringFlag(args, "chain-id")! } : {}),
      ...(blsWorkers !== undefined ? { blsWorkers } : {}),
      ...(title !== undefined ? { paras: [paraRegistration(title, paraKeys!)] } : {}),
      ...(intFlag(args, "spares") !== undefined ? { spares: intFlag(args, "spares")! } : {}),
    },
    backend,
  );
  const lines = [`wrote a ${validators}-validator network "${layout.chainId}" in ${layout.dir}`, `  genesis: ${layout.genesisFile}`, `  faucet:  ${layout.faucetKeyFile} (quire account balance --key ${layout.faucetKeyFile} --rpc ${layout.rpcUrls[0]})`];
  layout.configFiles.forEach((f, i) => lines.push(`  node ${i}${i >= validators ? " (spare: not in genesis)" : ""}: quire node --config ${f}   (rpc ${layout.rpcUrls[i]})`));
  const followers = intFlag(args, "followers", 0)!;
  if (followers > 0) {
    const fl = await writeFollowers({ dir: layout.dir, followers, validatorRpc: layout.rpcUrls.map(hostPortOfUrl), basePort, logLevel: "info" });
    fl.configFiles.forEach((f, k) => lines.push(`  follower ${k}: quire node --config ${f}   (rpc ${fl.rpcUrls[k]})`));
  }
  if (title !== undefined) {
    const para = await writeParaChain({ dir: layout.dir, title, keys: paraKeys!, mainGenesisFile: layout.genesisFile, mainRpcUrls: layout.rpcUrls, basePort: intFlag(args, "para-base-port", DEFAULT_PARA_BASE_PORT)! }, backend);
    lines.push(`  para chain "${title}": ${para.genesisFile}`);
    para.configFiles.forEach((f, i) => lines.push(`  para node ${i}: quire node --config ${f}   (rpc ${para.rpcUrls[i]})`));
  }
  process.stdout.write(lines.join("\n") + "\n");
  return 0;
}

/** `{host, port}` of an `http://host:port` RPC URL (as `writeNetwork` lists them). */
function hostPortOfUrl(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname.replace(/^\[|\]$/g, ""), port: Number(u.port) };
}
