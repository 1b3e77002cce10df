/**
 * A Byzantine validator for the end-to-end tests, run as its own process in place of a real node:
 *
 *   node dist/test/e2e/support/attacker.js CONFIG DURATION_MS PEER=RPC_URL ...
 *
 * It takes the validator's real config and key, so it authenticates to the honest validators over the shipping
 * transport (UwsTransport with the BLS link handshake), then floods each of them for DURATION_MS with, in every
 * round: stale votes (views long past: VIEW_TOO_OLD where the peer led the view after), votes and a timeout around
 * the peer's current view signed over the wrong message (BAD_SIGNATURE; the timeouts, for the peer's view as read and
 * the next two, carry a real QC so they get as far as the signature check), and undecodable payloads inside well-formed frames — random bytes and truncated
 * messages (WIRE_*). Votes go to every peer for a few views: a vote is only checked by the leader of the view after
 * it, and leaders follow committed history (consensus/leaderElection.ts), which the attacker does not track. Peers' current views and a real QC come from their RPC (PEER=RPC_URL, by validator
 * index). After DURATION_MS or on SIGTERM it prints one JSON line counting what it sent, and exits 0.
 */
import { randomBytes } from "node:crypto";
import type { QuorumCert } from "../../../src/domain/types.js";
import { Priority, SendStatus } from "../../../src/net/transport.js";
import { RpcClient } from "../../../src/rpc/client.js";
import { encodeMessage } from "../../../src/wire/codec.js";
import { openValidatorLink, runAttack } from "./validatorLink.js";

const ROUND_MS = 10;
/**
 * Random payloads per peer and round once the flood is on (about 500 a second to each honest node with a round every
 * ~20 ms). The first rounds send one every fourth round, so the signed offences land a few times before the peers'
 * penalties mute us (PeerPenalties: 10 points per undecodable message, 5 per bad signature, muted at 100).
 */
const GARBAGE_PER_ROUND = 10;
const GENTLE_ROUNDS = 20;
/** Wrong-signature timeouts per peer and round: its view as last read and the next ones (within every view window). */
const TIMEOUT_VIEWS_AHEAD = 3;
/** Stale votes go out for views 1..STALE_VIEWS (below the reputation window's lag: round robin, see above). */
const STALE_VIEWS = 7;

async function main(argv: readonly string[]): Promise<void> {
  const [configFile, durationArg, ...peerArgs] = argv;
  if (configFile === undefined || durationArg === undefined) throw new Error("usage: attacker.js CONFIG DURATION_MS PEER=RPC_URL ...");
  const { config, genesis, backend, key, transport } = await openValidatorLink(configFile, { onMessage: () => {} });
  const self = config.validatorIndex;
  const n = genesis.validators.length;
  const rpc = new Map(peerArgs.map((a) => [Number(a.slice(0, a.indexOf("="))), new RpcClient({ url: a.slice(a.indexOf("=") + 1), timeoutMs: 2_000 })]));

  // Signed with the real key, over a message nobody asked for: a valid point, the wrong signature.
  const wrongSignature = () => backend.signatureToBytes(backend.sign(key.secretKey, randomBytes(32)), "uncompressed");
  const vote = (view: number) => encodeMessage({ kind: "vote", body: { view, blockHash: randomBytes(32), voter: self, signature: wrongSignature() } });
  const views = new Map<number, number>();
  let qc: QuorumCert | null = null;
  const refresh = async () => {
    for (const [peer, c] of rpc) {
      try {
        views.set(peer, (await c.status()).view);
        const b = await c.block("latest");
        if (b?.qc !== null && b?.qc !== undefined) qc = b.qc;
      } catch {
        // A peer busy or restarting: keep the last view we had.
      }
    }
  };
  await refresh();
  const sent = { staleVotes: 0, badVotes: 0, badTimeouts: 0, garbage: 0, refusedByQueue: 0, peersSeen: 0 };
  const send = (peer: number, bytes: Uint8Array, what: keyof typeof sent) => {
    if (!transport.isConnected(peer)) return;
    if (transport.send(peer, Priority.Consensus, bytes) === SendStatus.Rejected) sent.refusedByQueue++;
    else sent[what]++;
  };

  const end = Date.now() + Number(durationArg);
  let stopped = false;
  process.once("SIGTERM", () => (stopped = true));
  let lastRefresh = Date.now();
  for (let round = 0; !stopped && Date.now() < end; round++) {
    if (Date.now() - lastRefresh > 300) {
      await refresh();
      lastRefresh = Date.now();
    }
    sent.peersSeen = Math.max(sent.peersSeen, transport.peers.filter((p) => transport.isConnected(p)).length);
    for (const peer of transport.peers) {
      const view = views.get(peer);
      if (view === undefined) continue;
      // Views 1..STALE_VIEWS precede any committed history, so their leaders are round robin and every peer led one.
      // From the first views on, before the peers' penalties mute us (a slow network may take seconds per view):
      // every vote below view - 1 is stale for the peer that leads the view after it.
      if (view > 3) {
        for (let v = 1; v <= Math.min(STALE_VIEWS, view - 2); v++) send(peer, vote(v), "staleVotes");
      }
      const votes = Array.from({ length: n + 2 }, (_, k) => vote(Math.max(1, view - 1) + k));
      for (const v of votes) send(peer, v, "badVotes");
      const last = votes[votes.length - 1]!;
      // Timeouts are checked by every peer, whoever leads (votes reach the signature check only at the next view's
      // leader, and skip-inactive election may pass over a peer that was left out of the first QCs). The view we read
      // may already be behind the peer's (a timeout below its view is stale: no signature work), so the next views too.
      if (qc !== null && (qc as QuorumCert).view < view) {
        for (let k = 0; k < TIMEOUT_VIEWS_AHEAD; k++) {
          send(peer, encodeMessage({ kind: "timeout", body: { view: view + k, highQc: qc, voter: self, signature: wrongSignature() } }), "badTimeouts");
        }
      }
      if (round >= GENTLE_ROUNDS || round % 4 === 0) {
        for (let k = 0; k < (round < GENTLE_ROUNDS ? 1 : GARBAGE_PER_ROUND); k++) send(peer, randomBytes(1 + Math.floor(Math.random() * 300)), "garbage");
        send(peer, last.subarray(0, Math.floor(last.length / 2)), "garbage");
      }
    }
    await new Promise((r) => setTimeout(r, ROUND_MS));
  }
  process.stdout.write(JSON.stringify(sent) + "\n");
  await transport.stop();
}

runAttack("attacker", () => main(process.argv.slice(2)));
