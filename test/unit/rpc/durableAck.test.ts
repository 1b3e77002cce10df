// Acknowledged means durable at the HTTP level (issue 11): the server answers 202 (or 200 for a duplicate) only once
// the node's `SubmitResult.durable` resolved, one wait for a whole batch, and 500 INTERNAL — with no id reported as
// admitted — when it rejects. Kept apart from server.test.ts so the two change independently. With the server of
// before issue 11 (durable ignored) it failed at once: "answered before the tx was durable".
import { test } from "node:test";
import assert from "node:assert/strict";
import { http, startHarness } from "../../support/rpcHttp.js";
import { sha256 } from "../../support/fakeNodeApi.js";
import { toHex } from "../../../src/util/bytes.js";

/** A promise and the functions that settle it. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // As the node's journal does: a rejection the server has not awaited yet is not an unhandled one.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/** Whether `p` settled within a few event-loop turns (the HTTP answer needs some). */
async function settlesSoon(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  for (let i = 0; i < 20 && !done; i++) await new Promise((r) => setTimeout(r, 5));
  return done;
}

test("POST /v1/tx and /v1/txs answer only after the node's durable promise resolved; a rejection is 500 with nothing admitted", async () => {
  const h = await startHarness({ fake: { capacity: 100 } });
  try {
    let gate = deferred();
    const calls: number[] = [];
    h.api.submitTx = (tx) => {
      calls.push(tx.length);
      return { kind: "accepted", id: sha256(tx), durable: gate.promise };
    };
    const single = http(h.base, "POST", "/v1/tx", { body: Uint8Array.of(1), type: "application/octet-stream" });
    assert.equal(await settlesSoon(single), false, "answered before the tx was durable");
    gate.resolve();
    assert.equal((await single).status, 202);

    gate = deferred();
    const txs = [Uint8Array.of(2), Uint8Array.of(3), Uint8Array.of(4)];
    const batch = http(h.base, "POST", "/v1/txs", { body: JSON.stringify({ txs: txs.map(toHex) }), type: "application/json" });
    assert.equal(await settlesSoon(batch), false, "batch answered before its txs were durable");
    // Every item was admitted before the wait (one group write for the batch, not one per item).
    assert.equal(calls.length, 4);
    gate.resolve();
    const ok = await batch;
    assert.equal(ok.status, 202);
    assert.deepEqual((ok.json as { ids: string[] }).ids, txs.map((t) => toHex(sha256(t))));

    gate = deferred();
    const failing = http(h.base, "POST", "/v1/txs", { body: JSON.stringify({ txs: [toHex(Uint8Array.of(5))] }), type: "application/json" });
    gate.reject(new Error("disk full"));
    const bad = await failing;
    assert.equal(bad.status, 500);
    assert.deepEqual((bad.json as { ids: (string | null)[] }).ids, [null]);
    gate = deferred();
    const failingSingle = http(h.base, "POST", "/v1/tx", { body: Uint8Array.of(6), type: "application/octet-stream" });
    gate.reject(new Error("disk full"));
    assert.equal((await failingSingle).status, 500);
  } finally {
    await h.server.stop();
  }
});
