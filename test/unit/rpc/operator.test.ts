/**
 * The operator routes over the fake node (test/support/fakeNodeApi.ts): exact documents, 503 NODE_UNHEALTHY with the
 * reason beside the typed error, 404 NO_CONSENSUS, and the server's usual handling (method, HEAD, 500 on a node
 * failure, the per-source rate limit, metrics by route).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { assertError, eventually, http, startHarness } from "../../support/rpcHttp.js";
import type { Harness } from "../../support/rpcHttp.js";
import { ManualScheduler } from "../../../src/util/clock.js";
import { dashboardAsset, DASHBOARD_INDEX } from "../../../src/rpc/dashboardAssets.js";
import { decodeEpochs, decodeHealth, decodeValidators } from "../../../src/rpc/json.js";
import { RpcClient } from "../../../src/rpc/client.js";
import { RpcClientError } from "../../../src/rpc/errors.js";
import type { ConsensusView, PeerView } from "../../../src/rpc/api.js";

const key = (b: number): Uint8Array => new Uint8Array(48).fill(b);
const hash = (b: number): Uint8Array => new Uint8Array(32).fill(b);

const PEER: PeerView = {
  index: 1,
  publicKey: key(0xab),
  address: { host: "127.0.0.1", port: 26602 },
  connected: true,
  connectedSince: 1_700_000_000_000,
  lastMessageAt: 1_700_000_005_123,
  committedHeight: 42,
  penalties: { points: 7.123456, muted: false, strikes: 0, banned: false },
};

const CONSENSUS: ConsensusView = {
  view: 17,
  leader: 1,
  viewDeadlineMs: 1_700_000_001_000,
  viewTimeoutMs: 1000,
  lastVote: { view: 16, blockHash: hash(0x16) },
  highQc: { view: 16, blockHash: hash(0x16), signers: 3 },
  lastTcView: 9,
  timeouts: { local: 2, tcs: 1 },
  lastVotedView: 16,
  lastProposedView: 13,
  committedHeight: 12,
};

describe("operator routes", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.server.stop());

  test("GET /v1/health: 200 with the health document when the node is healthy", async () => {
    h.api.healthState = { ok: true, reason: null, detail: null, committedHeight: 9, lastCommitAgeMs: 240, notCommittingAfterMs: 10_000, peersConnected: 3, peersNeeded: 2 };
    const a = await http(h.base, "GET", "/v1/health");
    assert.equal(a.status, 200);
    assert.equal(a.headers.get("content-type"), "application/json");
    assert.deepEqual(a.json, { ok: true, reason: null, detail: null, committedHeight: 9, lastCommitAgeMs: 240, notCommittingAfterMs: 10_000, peersConnected: 3, peersNeeded: 2 });
  });

  for (const reason of ["NO_PEERS", "NOT_COMMITTING", "CATCHING_UP"] as const) {
    test(`GET /v1/health: 503 NODE_UNHEALTHY with reason ${reason} and the figures beside the error`, async () => {
      h.api.healthState = { ok: false, reason, detail: `why ${reason}`, committedHeight: 5, lastCommitAgeMs: 12_345, notCommittingAfterMs: 10_000, peersConnected: 1, peersNeeded: 2 };
      const a = await http(h.base, "GET", "/v1/health");
      assertError(a, 503, "NODE_UNHEALTHY", ["ok", "reason", "detail", "committedHeight", "lastCommitAgeMs", "notCommittingAfterMs", "peersConnected", "peersNeeded"]);
      const doc = a.json as Record<string, unknown> & { error: { message: string } };
      assert.equal(doc["ok"], false);
      assert.equal(doc["reason"], reason);
      assert.equal(doc["detail"], `why ${reason}`);
      assert.equal(doc["lastCommitAgeMs"], 12_345);
      assert.match(doc.error.message, new RegExp(`^${reason}: why ${reason}$`));
    });
  }

  test("GET /v1/peers: hex keys, host:port addresses (IPv6 bracketed), nulls kept, penalty points rounded", async () => {
    h.api.peerViews = [PEER, { ...PEER, index: 3, publicKey: key(0xcd), address: { host: "::1", port: 9 }, connected: false, connectedSince: null, lastMessageAt: null, committedHeight: null, penalties: { points: 0, muted: true, strikes: 2, banned: true } }];
    const a = await http(h.base, "GET", "/v1/peers");
    assert.equal(a.status, 200);
    assert.deepEqual(a.json, {
      peers: [
        { index: 1, publicKey: "ab".repeat(48), address: "127.0.0.1:26602", connected: true, connectedSince: 1_700_000_000_000, lastMessageAt: 1_700_000_005_123, committedHeight: 42, penalties: { points: 7.12, muted: false, strikes: 0, banned: false } },
        { index: 3, publicKey: "cd".repeat(48), address: "[::1]:9", connected: false, connectedSince: null, lastMessageAt: null, committedHeight: null, penalties: { points: 0, muted: true, strikes: 2, banned: true } },
      ],
    });
  });

  test("GET /v1/validators: the epoch at the top, each validator with its key, power, address, self flag, score and role; RpcClient.validators decodes it", async () => {
    h.api.validatorSet = {
      epoch: 0,
      startHeight: 1,
      validators: [
        { index: 0, publicKey: key(1), votingPower: 1, address: { host: "10.0.0.1", port: 26600 }, self: false, score: 87, role: "member" },
        { index: 1, publicKey: key(2), votingPower: 1, address: null, self: true, score: null, role: "member" },
      ],
    };
    const a = await http(h.base, "GET", "/v1/validators");
    assert.equal(a.status, 200);
    assert.deepEqual(a.json, {
      epoch: 0,
      startHeight: 1,
      validators: [
        { index: 0, publicKey: "01".repeat(48), votingPower: 1, address: "10.0.0.1:26600", self: false, score: 87, role: "member" },
        { index: 1, publicKey: "02".repeat(48), votingPower: 1, address: null, self: true, score: null, role: "member" },
      ],
    });
    const decoded = await new RpcClient({ url: h.base }).validators();
    assert.deepEqual(
      decoded.validators.map((v) => [v.index, v.score, v.role]),
      [
        [0, 87, "member"],
        [1, null, "member"],
      ],
    );
    for (const score of [101, -1, 2.5, "9"]) {
      const broken = { epoch: 0, startHeight: 1, validators: [{ index: 0, publicKey: "01".repeat(48), self: false, score }] };
      assert.throws(() => decodeValidators(broken), (e: unknown) => e instanceof RpcClientError && e.code === "BAD_RESPONSE", JSON.stringify(score));
    }
    const old = decodeValidators({ epoch: 0, startHeight: 1, validators: [{ index: 0, publicKey: "01".repeat(48), self: false }] });
    assert.deepEqual([old.validators[0]!.score, old.validators[0]!.role], [null, "member"], "a node from before scores");
  });

  test("GET /v1/epochs: every epoch with its first height and members; RpcClient.epochs decodes it and refuses bad shapes", async () => {
    h.api.epochList = [
      { epoch: 0, startHeight: 1, members: [0, 1, 2, 3] },
      { epoch: 1, startHeight: 24, members: [0, 1, 2, 3, 4] },
    ];
    const a = await http(h.base, "GET", "/v1/epochs");
    assert.equal(a.status, 200);
    assert.deepEqual(a.json, {
      epochs: [
        { epoch: 0, startHeight: 1, members: [0, 1, 2, 3] },
        { epoch: 1, startHeight: 24, members: [0, 1, 2, 3, 4] },
      ],
    });
    assert.deepEqual(await new RpcClient({ url: h.base }).epochs(), h.api.epochList);
    for (const broken of [{}, { epochs: [{ epoch: 0, startHeight: 1, members: [] }] }, { epochs: [{ epoch: 0, startHeight: 1, members: [-1] }] }, { epochs: [{ epoch: "0", startHeight: 1, members: [0] }] }]) {
      assert.throws(() => decodeEpochs(broken), (e: unknown) => e instanceof RpcClientError && e.code === "BAD_RESPONSE", JSON.stringify(broken));
    }
  });

  test("GET /v1/config: the node's document as it is", async () => {
    h.api.configDoc = { type: "quire-node-config", keyFile: "/x/validator.key", rpc: { host: "127.0.0.1", port: 0 } };
    const a = await http(h.base, "GET", "/v1/config");
    assert.equal(a.status, 200);
    assert.deepEqual(a.json, h.api.configDoc);
  });

  test("GET /v1/consensus: the replica's view, deadline, vote, high QC, last TC and timeout counts", async () => {
    h.api.consensusView = CONSENSUS;
    const a = await http(h.base, "GET", "/v1/consensus");
    assert.equal(a.status, 200);
    assert.deepEqual(a.json, {
      view: 17,
      leader: 1,
      viewDeadlineMs: 1_700_000_001_000,
      viewTimeoutMs: 1000,
      lastVote: { view: 16, blockHash: "16".repeat(32) },
      highQc: { view: 16, blockHash: "16".repeat(32), signers: 3 },
      lastTcView: 9,
      timeouts: { local: 2, tcs: 1 },
      lastVotedView: 16,
      lastProposedView: 13,
      committedHeight: 12,
    });
    h.api.consensusView = { ...CONSENSUS, lastVote: null, lastTcView: null };
    const b = (await http(h.base, "GET", "/v1/consensus")).json as Record<string, unknown>;
    assert.equal(b["lastVote"], null);
    assert.equal(b["lastTcView"], null);
  });

  test("GET /v1/consensus on a node without consensus (a para node) is 404 NO_CONSENSUS", async () => {
    h.api.consensusView = null;
    assertError(await http(h.base, "GET", "/v1/consensus"), 404, "NO_CONSENSUS");
  });

  test("the server's usual handling: 405 with Allow, HEAD without a body, 500 INTERNAL on a node failure, counted by route", async () => {
    for (const path of ["/v1/health", "/v1/peers", "/v1/validators", "/v1/epochs", "/v1/config", "/v1/consensus"]) {
      const post = await http(h.base, "POST", path, { body: "{}", type: "application/json" });
      assertError(post, 405, "METHOD_NOT_ALLOWED");
      assert.equal(post.headers.get("allow"), "GET, HEAD");
      assertError(await http(h.base, "GET", `${path}/x`), 404, "NOT_FOUND");
    }
    h.api.healthState = { ok: true, reason: null, detail: null, committedHeight: 1, lastCommitAgeMs: 1, notCommittingAfterMs: 10_000, peersConnected: 3, peersNeeded: 2 };
    const head = await http(h.base, "HEAD", "/v1/health");
    assert.equal(head.status, 200);
    assert.equal(head.text, "");
    const methods = [
      ["health", "/v1/health", "health"],
      ["peers", "/v1/peers", "peers"],
      ["validators", "/v1/validators", "validators"],
      ["epochs", "/v1/epochs", "epochs"],
      ["effectiveConfig", "/v1/config", "config"],
      ["consensus", "/v1/consensus", "consensus"],
    ] as const;
    for (const [method, path, route] of methods) {
      h.api.throwOn.add(method);
      try {
        assertError(await http(h.base, "GET", path), 500, "INTERNAL");
        await eventually(async () => (await h.count("quire_rpc_handler_errors_total", { route })) === 1, `${route} error counted`);
      } finally {
        h.api.throwOn.delete(method);
      }
    }
  });

  test("RpcClient.health: the document as a value for 200 and 503 NODE_UNHEALTHY; a node failure is an HTTP error", async () => {
    const client = new RpcClient({ url: h.base });
    const healthy = { ok: true, reason: null, detail: null, committedHeight: 4, lastCommitAgeMs: 10, notCommittingAfterMs: 10_000, peersConnected: 3, peersNeeded: 2 } as const;
    h.api.healthState = healthy;
    assert.deepEqual(await client.health(), healthy);
    const sick = { ...healthy, ok: false, reason: "CATCHING_UP", detail: "catching up: committed height 4, peers announced 900" } as const;
    h.api.healthState = sick;
    assert.deepEqual(await client.health(), sick);
    h.api.throwOn.add("health");
    try {
      await assert.rejects(client.health(), (e: unknown) => e instanceof RpcClientError && e.code === "HTTP" && /INTERNAL/.test(e.message));
    } finally {
      h.api.throwOn.delete("health");
    }
  });

  test("decodeHealth refuses a document it cannot trust", () => {
    const good = { ok: false, reason: "NO_PEERS", detail: "x", committedHeight: 1, lastCommitAgeMs: 1, notCommittingAfterMs: 1, peersConnected: 0, peersNeeded: 2 };
    assert.equal(decodeHealth(good).reason, "NO_PEERS");
    for (const broken of [{ ...good, reason: "BORED" }, { ...good, ok: true }, { ...good, ok: "no" }, { ...good, peersConnected: -1 }, { ...good, detail: 5 }]) {
      assert.throws(() => decodeHealth(broken), (e: unknown) => e instanceof RpcClientError && e.code === "BAD_RESPONSE", JSON.stringify(broken));
    }
  });

  test("the dashboard's API section lists the operator routes", () => {
    const page = new TextDecoder().decode(dashboardAsset(DASHBOARD_INDEX)!.body);
    for (const r of ["/v1/health", "/v1/peers", "/v1/validators", "/v1/epochs", "/v1/config", "/v1/consensus"]) assert.ok(page.includes(`GET ${r}</code>`), r);
  });
});

test("the operator routes are charged to the per-source request budget like every route", async () => {
  const clock = new ManualScheduler();
  const h = await startHarness({ limits: { requestsPerSecPerSource: 2, requestBurstPerSource: 4 }, scheduler: clock });
  try {
    const paths = ["/v1/health", "/v1/peers", "/v1/validators", "/v1/config", "/v1/consensus"];
    const statuses: number[] = [];
    for (const p of paths) statuses.push((await http(h.base, "GET", p)).status);
    // Four tokens: health 200, peers 200, validators 200, config 200; consensus is refused before the node is asked.
    assert.deepEqual(statuses, [200, 200, 200, 200, 429]);
    assert.equal(h.api.calls.get("consensus") ?? 0, 0);
    assertError(await http(h.base, "GET", "/v1/health"), 429, "RATE_LIMITED");
  } finally {
    await h.server.stop();
  }
});
