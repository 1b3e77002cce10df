import { UsageError } from "./args.js";
import { QuireError } from "../util/errors.js";

/** A `quire` subcommand: receives the words after its name, returns the process exit code. */
export type Command = (argv: string[]) => Promise<number>;

interface CommandEntry {
  summary: string;
  load: () => Promise<Command>;
}

// Each command lives in its own module and is loaded on demand, so `quire merkle` never pays for BLS or uWS.
const COMMANDS: Record<string, CommandEntry> = {
  merkle: { summary: "RFC 6962 Merkle root, inclusion proof and proof verification (stdin/stdout)", load: async () => (await import("./merkle.js")).merkleCommand },
  keygen: { summary: "write a BLS validator key file (mode 0600) with its proof of possession", load: async () => (await import("./keygen.js")).keygenCommand },
  sim: { summary: "deterministic consensus simulations: quire sim --validators N --seeds K --scenario random|KINDS --views V [--byzantine B] [--bls-every K] [--para P [--byzantine-paras K] [--para-outages random]] [--json FILE]", load: async () => (await import("./sim.js")).simCommand },
  init: { summary: "a new network on disk: quire init --validators N --dir DIR [--base-port P] [--hosts h1,h2,...] [--para TITLE --para-nodes N]; a sharded one: quire init --shards S --validators N --dir DIR (DIR/shard-<i>, DIR/network.json)", load: async () => (await import("./init.js")).initCommand },
  node: { summary: "run one validator or para node (by the config's type): quire node --config FILE [--set field.path=value ...] (SIGINT/SIGTERM stop it gracefully)", load: async () => (await import("./node.js")).nodeCommand },
  cluster: { summary: "a local N-validator network as child processes with a live status line and load: quire cluster [--validators N] [--dir DIR] [--load TX_PER_S]", load: async () => (await import("./cluster.js")).clusterCommand },
  load: { summary: "submit N txs through the RPC, check every node reports each committed: quire load --rpc URL[,URL...] | --cluster N [--txs N] [--size B]", load: async () => (await import("./load.js")).loadCommand },
  validators: { summary: "the validator set: quire validators list | add --key K --host H --port P | remove --index I --signers K1,... --rpc URL", load: async () => (await import("./validators.js")).validatorsCommand },
  tx: { summary: "key-value transactions: quire tx put KEY VALUE | delete KEY | get KEY | status ID --rpc URL", load: async () => (await import("./tx.js")).txCommand },
  audit: {
    summary: "check every node's committed chain against genesis and each other: quire audit --rpc URL1,URL2,... [--genesis FILE] [--from H] [--to H] [--json] (exit 0 agree, 1 diverged/invalid, 2 unreadable)",
    load: async () => (await import("./audit.js")).auditCommand,
  },
  verify: {
    summary: "offline checks: quire verify para-commit --genesis MAIN_GENESIS.json (--file DOC.json | --rpc URL --title T --height H) (exit 0 valid, 1 invalid)",
    load: async () => (await import("./verify.js")).verifyCommand,
  },
  account: {
    summary: "Ed25519 accounts: quire account new --out FILE | balance (PUBKEY | --key FILE) | transfer | deposit | withdraw --key FILE --to PUBKEY --amount N --rpc URL [--wait]",
    load: async () => (await import("./account.js")).accountCommand,
  },
  status: { summary: "a node's chain id, height, view, leader, peers and mempool: quire status --rpc URL", load: async () => (await import("./status.js")).statusCommand },
  bench: { summary: "micro-benchmarks: quire bench crypto|bls|wire|net|chain|rpc|paracross [--json FILE] [--filter TEXT]; fault costs on a local cluster: quire bench faults; catch-up of a node from an empty data dir: quire bench catchup [--blocks N]", load: async () => (await import("./bench.js")).benchCommand },
};

function usage(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return ["usage: quire <command> [options]", "", "commands:", ...rows, ""].join("\n");
}

/** Entry point of the `quire` binary. Returns the exit code; never throws. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const entry = COMMANDS[name];
  if (entry === undefined) {
    process.stderr.write(`quire: unknown command "${name}"\n${usage()}`);
    return 2;
  }
  try {
    return await (await entry.load())(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`quire ${name}: ${e.message}\n`);
      return 2;
    }
    if (e instanceof QuireError) {
      process.stderr.write(`quire ${name}: ${e.code}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
