/**
 * Hostile bytes: valid consensus messages, encoded, mutated at random, decoded and validated. Every outcome must be a
 * WireError from the codec, a typed rejection from validation, or an input the core then steps through without
 * throwing — never an exception out of validation or the core.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeMessage, encodeMessage } from "../../../src/wire/codec.js";
import { WireError } from "../../../src/wire/errors.js";
import type { Message } from "../../../src/domain/types.js";
import { MessageValidator } from "../../../src/consensus/validation/validator.js";
import { REJECT_CODES } from "../../../src/consensus/validation/codes.js";
import { TestCommittee, txRoot } from "../../support/consensus.js";
import { seededRng } from "../../support/seed.js";

test("mutated messages: codec error, typed rejection, or an input the core accepts", (t) => {
  const rng = seededRng(t);
  const c = new TestCommittee(4);
  const b1 = c.block(c.ref(c.genesis), 1);
  const q1 = c.qc(1, c.ref(b1).hash);
  const b2 = c.block(c.ref(b1), 2);
  const q2 = c.qc(2, c.ref(b2).hash);
  const samples: Message[] = [
    { kind: "proposal", body: c.proposal(b2, q1) },
    { kind: "proposal", body: c.proposal(c.block(c.ref(b1), 3, "", 3), q1, c.tc(2, [q1])) },
    { kind: "vote", body: c.vote(1, 2, c.ref(b2).hash) },
    { kind: "timeout", body: c.timeout(1, 3, q2) },
    { kind: "qc", body: q2 },
    { kind: "tc", body: c.tc(2, [q1, c.genesisQc, q1]) },
    { kind: "syncResponse", body: { requestId: 1, blocks: [{ block: b1, qc: q1 }, { block: b2, qc: q2 }] } },
  ].map((m) => m as Message);
  const encoded = samples.map(encodeMessage);
  const replica = c.replica(3);
  const state = replica.init(0).state;
  const validator = new MessageValidator({ self: 3, validatorCount: 4, genesisHash: c.genesisHash }, { verifier: c.certs, txRoot });
  const outcomes = { wire: 0, rejected: 0, accepted: 0 };
  for (let i = 0; i < 4_000; i++) {
    const bytes = Uint8Array.from(encoded[rng.int(encoded.length)]!);
    const flips = rng.range(1, 4);
    for (let k = 0; k < flips; k++) {
      const at = rng.int(bytes.length);
      bytes[at] = bytes[at]! ^ (1 << rng.int(8));
    }
    let msg: Message;
    try {
      msg = decodeMessage(bytes);
    } catch (e) {
      assert.ok(e instanceof WireError, String(e));
      outcomes.wire++;
      continue;
    }
    const from = rng.int(5);
    const v = validator.validate(from, msg, 2, 100);
    if (!v.ok) {
      assert.ok((REJECT_CODES as readonly string[]).includes(v.code));
      outcomes.rejected++;
      continue;
    }
    outcomes.accepted++;
    replica.step(state, v.input, 100); // must not throw
  }
  t.diagnostic(JSON.stringify(outcomes));
  assert.ok(outcomes.rejected > 500, JSON.stringify(outcomes));
});
