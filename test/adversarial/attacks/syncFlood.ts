/**
 * Sync amplification: a validator's key in the attacker's hands (its real node stopped), authenticated to the others
 * over the shipping transport exactly as test/e2e/support/attacker.ts does, streams max-range sync requests
 * (MAX_SYNC_BLOCKS heights from height 1, 40-odd bytes each) at one victim and counts what comes back.
 *
 *   node syncFlood.js CONFIG DURATION_MS VICTIM_INDEX
 *
 * Every ROUND_MS it sends PER_ROUND requests (fewer if its own send queue refuses them). It prints
 * `{"event":"answered"}` at the first response. After DURATION_MS or on
 * SIGTERM it prints one JSON line — requests sent, sync responses and their bytes received from the victim, the blocks
 * they carried, and the seconds it ran — and exits 0.
 */
import { MAX_SYNC_BLOCKS } from "../../../src/domain/limits.js";
import { Priority, SendStatus } from "../../../src/net/transport.js";
import { decodeMessage, encodeMessage } from "../../../src/wire/codec.js";
import { openValidatorLink, runAttack } from "../../e2e/support/validatorLink.js";

const ROUND_MS = 5;
const PER_ROUND = 4;

async function main(argv: readonly string[]): Promise<void> {
  const [configFile, durationArg, victimArg] = argv;
  if (configFile === undefined || durationArg === undefined || victimArg === undefined) throw new Error("usage: syncFlood.js CONFIG DURATION_MS VICTIM_INDEX");
  const victim = Number(victimArg);
  const got = { requests: 0, refusedByOwnQueue: 0, responses: 0, responseBytes: 0, blocks: 0, seconds: 0 };
  const { transport } = await openValidatorLink(configFile, {
    onMessage: (from, payload) => {
      if (from !== victim) return;
      try {
        const msg = decodeMessage(payload);
        if (msg.kind !== "syncResponse") return;
        // The test waits for this line: the attack is under way (the victim may be too busy for its RPC to say so).
        if (got.responses === 0) process.stdout.write('{"event":"answered"}\n');
        got.responses++;
        got.responseBytes += payload.length;
        got.blocks += msg.body.blocks.length;
      } catch {
        // Not ours to judge.
      }
    },
  });
  const t0 = Date.now();
  const end = t0 + Number(durationArg);
  let stopped = false;
  process.once("SIGTERM", () => (stopped = true));
  for (let id = 1; !stopped && Date.now() < end; ) {
    if (transport.isConnected(victim)) {
      for (let k = 0; k < PER_ROUND; k++, id++) {
        const req = encodeMessage({ kind: "syncRequest", body: { requestId: id, fromHeight: 1, toHeight: MAX_SYNC_BLOCKS } });
        if (transport.send(victim, Priority.Sync, req) === SendStatus.Rejected) got.refusedByOwnQueue++;
        else got.requests++;
      }
    }
    await new Promise((r) => setTimeout(r, ROUND_MS));
  }
  got.seconds = (Date.now() - t0) / 1000;
  process.stdout.write(JSON.stringify(got) + "\n");
  await transport.stop();
}

runAttack("syncFlood", () => main(process.argv.slice(2)));
