/**
 * A Byzantine validator's link for attack processes: loads a validator's real config, genesis and key, and starts the
 * shipping transport (UwsTransport with the BLS link handshake) under that identity, so the honest validators accept
 * it as that validator. Used by the e2e Byzantine attacker (attacker.ts) and the adversarial suite's attacks.
 */
import { loadBlsBackend } from "../../../src/crypto/bls/backend.js";
import type { BlsBackend } from "../../../src/crypto/bls/backend.js";
import { loadKeyFile } from "../../../src/crypto/bls/keyFile.js";
import { blsLinkIdentity } from "../../../src/net/blsLink.js";
import type { TransportHandler } from "../../../src/net/transport.js";
import { UwsTransport } from "../../../src/net/uwsTransport.js";
import { loadNodeConfig } from "../../../src/node/config.js";
import type { NodeConfig } from "../../../src/node/config.js";
import { loadGenesis } from "../../../src/node/genesis.js";
import type { Genesis } from "../../../src/node/genesis.js";

export interface ValidatorLink {
  readonly config: NodeConfig;
  readonly genesis: Genesis;
  readonly backend: BlsBackend;
  readonly key: Awaited<ReturnType<typeof loadKeyFile>>;
  readonly transport: UwsTransport;
}

/** Opens validator `configFile`'s identity on the real transport, with `handler` set, and starts it. */
export async function openValidatorLink(configFile: string, handler: TransportHandler): Promise<ValidatorLink> {
  const config = await loadNodeConfig(configFile);
  const backend = await loadBlsBackend("blst");
  const genesis = await loadGenesis(config.genesisFile, backend);
  const key = await loadKeyFile(config.keyFile, backend);
  const transport = new UwsTransport(
    { self: config.validatorIndex, chainId: genesis.chainIdBytes, validators: genesis.validators.map((v, i) => ({ publicKey: v.publicKey, address: config.peers[i]! })), listen: config.p2p },
    {
      identity: blsLinkIdentity(backend, key),
      verify: (pk, msg, sig) => {
        try {
          return backend.verify(msg, backend.publicKeyFromBytes(pk), backend.signatureFromBytes(sig));
        } catch {
          return false;
        }
      },
    },
  );
  transport.setHandler(handler);
  await transport.start();
  return { config, genesis, backend, key, transport };
}

/** Runs an attack script's `main` and exits: 0 when it resolved, 1 (with the error on stderr) when it threw. */
export function runAttack(name: string, main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(`${name}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
