/**
 * The shell under faults, four shells in one process (the real shell, executor, store and core over the in-memory
 * network, real clock): a node far behind catches up from several peers at once without waiting for a certificate,
 * and a node whose awaited leader's link drops times out early instead of waiting out the view timer.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { CatchUp } from "../../../src/node/catchUp.js";
import { sameChain, ShellHarness, until } from "./support/shellHarness.js";

test("a node restarted with an empty store long after genesis fetches committed ranges from several peers and rejoins", async () => {
  const h = new ShellHarness(4);
  try {
    await h.start();
    await until("progress", () => h.height(0) >= 5);
    await h.crashStop(3);
    // Far enough ahead that catch-up (not the core's one-range sync) takes it: at least two ranges of 128 heights.
    await until("the others commit 300 blocks without node 3", () => h.height(0) >= 260, 90_000);
    const node = await h.restart(3, true);
    assert.equal(h.height(3), 0);
    await until("node 3 reaches the others", () => h.height(3) >= 260, 60_000);
    // And keeps up with them afterwards, as a voter again.
    const target = h.height(0) + 5;
    await until("node 3 commits with the others", () => h.height(3) >= target, 30_000);
    assert.ok((node.shell.counters.get("CATCH_UP_STARTED") ?? 0) >= 1, "catch-up ran");
    // Ranges were asked of more than one peer, with catch-up request ids.
    const askedOf = new Set<number>();
    for (const e of node.events) if (e.kind === "sent" && e.msg.kind === "syncRequest" && CatchUp.owns(e.msg.body.requestId)) askedOf.add(e.to);
    assert.ok(askedOf.size >= 2, `catch-up asked ${[...askedOf].join(",")}`);
    sameChain(h, Math.min(...h.nodes.map((_, i) => h.height(i))));
    for (const n of h.nodes) assert.equal(n.fatal, undefined);
  } finally {
    await h.stop();
  }
});

test("when the link to the awaited leader drops, the others time out early and keep committing with 3 of 4", async () => {
  const h = new ShellHarness(4);
  try {
    await h.start();
    await until("progress", () => h.height(0) >= 5);
    await h.crashStop(2);
    const from = h.height(0);
    await until("commits continue without node 2", () => h.height(0) >= from + 30, 60_000);
    const early = [0, 1, 3].map((i) => h.nodes[i]!.shell.counters.get("LEADER_DOWN_TIMEOUT") ?? 0);
    assert.ok(early.some((k) => k >= 1), `early timeouts ${early.join(",")}`);
    sameChain(h, Math.min(h.height(0), h.height(1), h.height(3)), [0, 1, 3]);
  } finally {
    await h.stop();
  }
});
