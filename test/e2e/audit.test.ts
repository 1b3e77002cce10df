/**
 * `quire audit` against real node processes: a 4-validator network audits clean (exit 0) against its genesis file and
 * against the genesis its nodes serve; and the audit is shown to fail — on a doctored RPC (a proxy in front of one
 * node that serves one block altered, with its hash recomputed: a fork at a known height), on a node of another
 * network, and on a node that does not answer. The clean and the doctored audit run as `quire audit` processes, the
 * others in this process (`auditNodes`, the command without its start-up). Every process is stopped by pid in `after`.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { rm } from "node:fs/promises";
import { blockHash } from "../../src/consensus/blockHash.js";
import { freePorts } from "../../src/node/ports.js";
import { blockJson, decodeBlock } from "../../src/rpc/json.js";
import { toHex } from "../../src/util/bytes.js";
import { auditNodes, renderReport } from "../../src/cli/audit.js";
import { assertAudited, runAudit, startNetwork, stopAll, waitForHeight } from "./support/network.js";
import type { TestNetwork } from "./support/network.js";

const N = 4;
/** The height the doctored proxy alters. */
const FORGED = 3;

let net: TestNetwork | undefined;
let other: TestNetwork | undefined;
let proxy: Server | undefined;

function network(): TestNetwork {
  assert.ok(net !== undefined, "the network did not start");
  return net;
}

/**
 * An RPC in front of `target` that passes everything through, except that the block at FORGED in any
 * `GET /v1/blocks?from&to` answer gets another txRoot and the hash of the altered header (its QC is left as it was).
 */
async function doctoredRpc(target: string): Promise<string> {
  const server = createServer((req, res) => {
    void (async () => {
      const upstream = await fetch(target + (req.url ?? "/"));
      let body = await upstream.text();
      if (upstream.status === 200 && (req.url ?? "").startsWith("/v1/blocks?")) {
        const doc = JSON.parse(body) as { blocks: unknown[] };
        doc.blocks = doc.blocks.map((raw) => {
          const b = decodeBlock(raw);
          if (b.header.height !== FORGED) return raw;
          const header = { ...b.header, txRoot: new Uint8Array(32).fill(0xee) };
          return blockJson({ ...b, header, hash: blockHash(header) });
        });
        body = JSON.stringify(doc);
      }
      res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "application/json" }).end(body);
    })().catch(() => res.writeHead(502).end());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  proxy = server;
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("quire audit on real processes", { timeout: 90_000 }, () => {
  before(async () => {
    // The second network (one validator, its own genesis) is the stranger of the third test; started alongside.
    [net, other] = await Promise.all([startNetwork(N), startNetwork(1)]);
    await Promise.all([waitForHeight(net, FORGED + 3, 30_000), waitForHeight(other, 1, 30_000)]);
  });

  after(async () => {
    if (proxy !== undefined) {
      proxy.closeAllConnections();
      await new Promise((r) => proxy!.close(r));
    }
    const otherDir = other?.dir;
    await stopAll(net);
    if (otherDir !== undefined) await rm(otherDir, { recursive: true, force: true });
  });

  test("a running 4-node network agrees on every height, against its genesis file and against the genesis its nodes serve", async () => {
    const nw = network();
    const heights = await Promise.all(nw.clients.map(async (c) => (await c.status()).committedHeight));
    const report = await assertAudited(nw);
    assert.equal(report.from, 0);
    assert.ok(report.to >= Math.min(...heights), `audited to ${report.to}, below the lowest height ${Math.min(...heights)} seen before`);
    assert.equal(report.agreedTo, report.to);
    assert.equal(report.qcsVerified >= report.to, true, `${report.qcsVerified} QCs verified for ${report.to} heights`);
    assert.deepEqual(
      report.nodes.map((n) => [n.name, n.error, n.checkedTo]),
      nw.urls.map((u) => [u, null, report.to]),
    );
    // Genesis from the nodes (identical on all four), in this process (the command's code without its start-up).
    const fromNodes = await auditNodes({ urls: nw.urls, to: 2 });
    assert.ok("report" in fromNodes, JSON.stringify(fromNodes));
    assert.deepEqual([fromNodes.exitCode, fromNodes.report.verdict, fromNodes.report.agreedTo], [0, "agree", 2]);
    assert.match(renderReport(fromNodes.report, fromNodes.genesis), /^genesis: GET \/v1\/genesis, identical on every node that answered\n[^]*^OK: all agree and verify on heights 0\.\.2$/m);
  });

  test("a doctored RPC serving an altered block: divergence at exactly that height, exit 1", async () => {
    const nw = network();
    const forged = await doctoredRpc(nw.urls[2]!);
    const run = await runAudit([nw.urls[0]!, nw.urls[1]!, forged, nw.urls[3]!], { genesisFile: nw.genesisFile });
    assert.equal(run.exitCode, 1, run.output);
    const r = run.report!;
    assert.equal(r.verdict, "diverged");
    assert.equal(r.divergence?.height, FORGED);
    assert.equal(r.agreedTo, FORGED - 1);
    const real = await nw.clients[0]!.block(FORGED);
    assert.deepEqual(
      r.divergence?.hashes.filter((x) => x.node !== forged).map((x) => x.hash),
      [0, 1, 3].map(() => toHex(real!.hash)),
    );
    // The altered block's QC certifies the real one, and the next block links to the real one.
    assert.deepEqual(
      r.problems?.map((p) => [p.node, p.height, p.code]),
      [
        [forged, FORGED, "QC_MISMATCH"],
        [forged, FORGED + 1, "BROKEN_CHAIN"],
      ],
    );
  });

  test("a node of another network: the genesis documents differ (exit 1); against one genesis file it fails from height 0", async () => {
    const nw = network();
    assert.ok(other !== undefined);
    const mixed = [...nw.urls, other.urls[0]!];
    const noGenesis = await auditNodes({ urls: mixed });
    assert.ok("error" in noGenesis, JSON.stringify(noGenesis));
    assert.deepEqual([noGenesis.exitCode, noGenesis.error.code], [1, "GENESIS_DIFFERS"]);
    const withGenesis = await auditNodes({ urls: mixed, genesisFile: nw.genesisFile });
    assert.ok("report" in withGenesis, JSON.stringify(withGenesis));
    const r = withGenesis.report;
    assert.deepEqual([withGenesis.exitCode, r.verdict, r.divergence?.height], [1, "diverged", 0]);
    const stranger = r.problems.filter((p) => p.node === other!.urls[0]).map((p) => [p.height, p.code]);
    assert.deepEqual(stranger.slice(0, 2), [
      [null, "CHAIN_ID_MISMATCH"],
      [0, "GENESIS_MISMATCH"],
    ]);
    assert.ok(stranger.slice(2).every(([, code]) => code === "BAD_QC"), JSON.stringify(stranger));
    assert.ok(r.problems.every((p) => p.node === other!.urls[0]), "only the stranger is at fault");
  });

  test("a node that does not answer: incomplete, exit 2, the others still audited", async () => {
    const nw = network();
    const [closed] = await freePorts(1);
    const dead = `http://127.0.0.1:${closed}`;
    const run = await auditNodes({ urls: [...nw.urls, dead], genesisFile: nw.genesisFile });
    assert.ok("report" in run, JSON.stringify(run));
    const r = run.report;
    assert.deepEqual([run.exitCode, r.verdict, r.agreedTo], [2, "incomplete", r.to]);
    assert.equal(r.nodes.find((n) => n.name === dead)?.error?.code, "NETWORK");
  });
});
