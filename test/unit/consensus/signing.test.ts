import { test } from "node:test";
import assert from "node:assert/strict";
import { genesisQc, timeoutMessage, voteMessage } from "../../../src/consensus/signing.js";
import { toHex, utf8 } from "../../../src/util/bytes.js";

test("vote and timeout messages follow the documented layout", () => {
  const chain = utf8("abc");
  const hash = new Uint8Array(32).fill(7);
  assert.equal(
    toHex(voteMessage(chain, 258, hash)),
    "51554952452f564f54452f5631000000" + "03" + "616263" + "0000000000000102" + "07".repeat(32),
  );
  assert.equal(toHex(timeoutMessage(chain, 258, 5)), "51554952452f544d4f2f563100000000" + "03" + "616263" + "0000000000000102" + "0000000000000005");
});

test("domains and chain ids separate messages", () => {
  const a = voteMessage(utf8("a"), 1, new Uint8Array(32));
  const b = voteMessage(utf8("b"), 1, new Uint8Array(32));
  assert.notEqual(toHex(a), toHex(b));
  // A timeout (view 1, high QC 0) never equals a vote, whatever the hash: the tags differ in the first 16 bytes.
  assert.notEqual(toHex(timeoutMessage(utf8("a"), 1, 0)).slice(0, 32), toHex(a).slice(0, 32));
  // Large views use the full 64-bit field.
  assert.equal(toHex(voteMessage(utf8("a"), 2 ** 53 - 1, new Uint8Array(32))).slice(36, 52), "001fffffffffffff");
});

test("the genesis QC is view 0, no signers, zero signature", () => {
  const qc = genesisQc(new Uint8Array(32).fill(1));
  assert.equal(qc.view, 0);
  assert.equal(qc.signers.length, 0);
  assert.equal(qc.aggregateSignature.length, 96);
  assert.ok(qc.aggregateSignature.every((b) => b === 0));
});

test("bytesKey: one char per byte, distinct for distinct bytes (lengths included)", async () => {
  const { bytesKey: hashKey } = await import("../../../src/util/bytes.js");
  assert.equal(hashKey(Uint8Array.of(0x41, 0x00, 0xff)), "A\u0000\u00ff");
  const seen = new Set<string>();
  for (let i = 0; i < 256; i++) seen.add(hashKey(Uint8Array.of(i, 255 - i)));
  seen.add(hashKey(new Uint8Array(0)));
  seen.add(hashKey(Uint8Array.of(7)));
  assert.equal(seen.size, 258);
});
