import { RpcClient } from "../../../../src/rpc/client.js";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { decodeBitmapIndices } from "../../../../src/crypto/bitmap/index.js";
import { SILENT } from "../../../../src/node/logger.js";
import { ParaNodeError } from "../../../../src/node/para/errors.js";
import { RpcMainChain } from "../../../../src/node/para/rpcMainChain.js";
import { utf8 } from "../../../../src/util/bytes.js";
import { eventually, startHarness } from "../../../support/rpcHttp.js";
import type { Harness } from "../../../support/rpcHttp.js";

let h: Harness;
before(async () => {
  h = await startHarness();
  h.api.commit({ extra: [utf8("a"), utf8("bb"), utf8("ccc")], failed: [2] });
});
after(() => h.server.stop());

// A port nothing listens on: the first URL fails and the client moves to the next.
const DEAD = "http://127.0.0.1:9";

test("RpcMainChain: fails over to the next main node and reads checked bodies with their own results", async () => {
  const main = new RpcMainChain({ urls: [DEAD, h.base], timeoutMs: 2_000 }, { logger: SILENT });
  assert.equal(await main.head(), 1);
  assert.equal(main.url, h.base);
  const b = await main.blockBody(1);
  assert.ok(b !== null);
  assert.deepEqual(b.txs.map((t) => Uint8Array.from(t)), [utf8("a"), utf8("bb"), utf8("ccc")]);
  assert.deepEqual([...decodeBitmapIndices(b.results, { length: 3 })], [2]);
  assert.equal(b.timestampMs, h.api.blocks[1]!.info.header.timestampMs);
  assert.equal(await main.blockBody(2), null);
});

test("RpcMainChain: a body that does not match its header's txRoot is refused", async () => {
  h.api.commit({ extra: [utf8("x")] });
  h.api.blocks[2]!.txs = [utf8("y")]; // the node serves other bytes than the header commits to
  const main = new RpcMainChain({ urls: [h.base] }, { logger: SILENT });
  await assert.rejects(main.blockBody(2), (e: unknown) => e instanceof ParaNodeError && e.code === "MAIN_UNAVAILABLE" && /txRoot/.test(e.message));
});

test("RpcMainChain: new heads arrive from the main node's stream", async () => {
  const main = new RpcMainChain({ urls: [h.base] }, { logger: SILENT });
  const heads: number[] = [];
  const stop = main.subscribeHeads((x) => heads.push(x), () => {});
  // Frames flow from the first commit after the socket opened: commit until one arrives, then check it is a new head.
  let last = 0;
  await eventually(() => {
    if (heads.length === 0) last = h.api.commit().header.height;
    return heads.length > 0;
  }, "a new head from the stream");
  assert.ok(heads[0]! >= 3 && heads[0]! <= last);
  stop();
});

test("RpcMainChain: a main node of another chain (chain id or genesis block) is never used", async () => {
  const genesis = (await new RpcClient({ url: h.base }).block(0))!;
  const right = new RpcMainChain({ urls: [h.base], expect: { chainId: "quire-test", genesisHash: genesis.hash } }, { logger: SILENT });
  assert.ok((await right.head()) >= 1);
  const wrongId = new RpcMainChain({ urls: [h.base], expect: { chainId: "another-chain", genesisHash: genesis.hash } }, { logger: SILENT });
  await assert.rejects(wrongId.head(), (e: unknown) => e instanceof ParaNodeError && e.code === "MAIN_UNAVAILABLE" && /not the para genesis's main chain/.test(e.message));
  const wrongGenesis = new RpcMainChain({ urls: [h.base], expect: { chainId: "quire-test", genesisHash: new Uint8Array(32) } }, { logger: SILENT });
  await assert.rejects(wrongGenesis.blockBody(1), (e: unknown) => e instanceof ParaNodeError && /genesis block/.test(e.message));
});

test("RpcMainChain: results served for a block that the next block's certified header contradicts stop the para node", async () => {
  const main = new RpcMainChain({ urls: [h.base] }, { logger: SILENT });
  const at = h.api.commit({ extra: [utf8("p"), utf8("q")], failed: [1] }).header.height;
  assert.ok((await main.blockBody(at)) !== null);
  // The next block certifies other results for `at` than the ones just served.
  h.api.commit({ extra: [utf8("r")] });
  h.api.blocks[at + 1]!.info = { ...h.api.blocks[at + 1]!.info, header: { ...h.api.blocks[at + 1]!.info.header, parentResults: new Uint8Array([0x00, 0x02]) } };
  await assert.rejects(main.blockBody(at + 1), (e: unknown) => e instanceof ParaNodeError && /differ from those block/.test(e.message));
  // Consistent results pass.
  const fresh = new RpcMainChain({ urls: [h.base] }, { logger: SILENT });
  const again = h.api.commit({ extra: [utf8("s")] }).header.height;
  assert.ok((await fresh.blockBody(again)) !== null);
  h.api.commit();
  assert.ok((await fresh.blockBody(again + 1)) !== null);
});
