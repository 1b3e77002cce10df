import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { assertError, http, startHarness } from "../../support/rpcHttp.js";
import type { Harness } from "../../support/rpcHttp.js";
import { RpcClient } from "../../../src/rpc/client.js";
import { RpcClientError } from "../../../src/rpc/errors.js";
import { toHex } from "../../../src/util/bytes.js";

const alice = new Uint8Array(32).fill(0xa1);
const bob = new Uint8Array(32).fill(0xb0);

describe("GET /v1/accounts/:pubkey and GET /v1/supply", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    h.api.accounts!.set(toHex(alice), { balance: 1234, nonce: 7 });
    h.api.escrows.set("demo", 55);
  });
  after(() => h.server.stop());

  test("an account: its balance and next nonce; zeros for an unknown one; either hex case", async () => {
    const a = await http(h.base, "GET", `/v1/accounts/${toHex(alice).toUpperCase()}`);
    assert.equal(a.status, 200);
    assert.deepEqual(a.json, { publicKey: toHex(alice), balance: 1234, nonce: 7 });
    const b = await http(h.base, "GET", `/v1/accounts/${toHex(bob)}`);
    assert.deepEqual(b.json, { publicKey: toHex(bob), balance: 0, nonce: 0 });
  });

  test("a key that is not 64 hex digits is 400 BAD_PUBLIC_KEY", async () => {
    for (const bad of ["", "ab", toHex(alice) + "00", "zz".repeat(32), "0x" + toHex(alice).slice(2)]) assertError(await http(h.base, "GET", `/v1/accounts/${bad}`), 400, "BAD_PUBLIC_KEY");
  });

  test("supply: the sum of balances and each escrow", async () => {
    const a = await http(h.base, "GET", "/v1/supply");
    assert.equal(a.status, 200);
    assert.deepEqual(a.json, { supply: 1234, escrows: { demo: 55 } });
  });

  test("the client round-trips both", async () => {
    const c = new RpcClient({ url: h.base });
    assert.deepEqual(await c.account(alice), { publicKey: alice, balance: 1234, nonce: 7 });
    assert.deepEqual(await c.supply(), { supply: 1234, escrows: new Map([["demo", 55]]) });
  });

  test("a node failure is 500 INTERNAL", async () => {
    h.api.throwOn.add("account").add("supply");
    try {
      assertError(await http(h.base, "GET", `/v1/accounts/${toHex(alice)}`), 500, "INTERNAL");
      assertError(await http(h.base, "GET", "/v1/supply"), 500, "INTERNAL");
    } finally {
      h.api.throwOn.clear();
    }
  });
});

test("a chain without the accounts module: 404 NO_ACCOUNTS on both routes; the client reports the code", async () => {
  const h = await startHarness();
  try {
    h.api.accounts = null;
    assertError(await http(h.base, "GET", `/v1/accounts/${toHex(alice)}`), 404, "NO_ACCOUNTS");
    assertError(await http(h.base, "GET", "/v1/supply"), 404, "NO_ACCOUNTS");
    const c = new RpcClient({ url: h.base });
    await assert.rejects(c.account(alice), (e: unknown) => e instanceof RpcClientError && e.code === "HTTP" && e.payload.code === "NO_ACCOUNTS");
  } finally {
    await h.server.stop();
  }
});
