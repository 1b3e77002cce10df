/**
 * Helpers of the paracross end-to-end tests: a local cluster with para chains (the shipping runner,
 * src/cli/localCluster.ts), signed account txs for either chain, tx waits and the checks every scenario repeats (done
 * heights contiguous with a commit each, para nodes agreeing block by block). Every wait is a bounded poll (`until`).
 */
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, request } from "node:http";
import type { IncomingMessage } from "node:http";
import { connect } from "node:net";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { join } from "node:path";
import assert from "node:assert/strict";
import { attachSignature, encodeAccountTxBody, signingMessage } from "../../../src/chain/app/accounts/accountTx.js";
import type { AccountTxInput } from "../../../src/chain/app/accounts/accountTx.js";
import { COMMIT_TX_TAG } from "../../../src/chain/app/paracross/format.js";
import { defaultHasher } from "../../../src/crypto/hash/backends.js";
import { launchCluster, waitUntilCommitting } from "../../../src/cli/localCluster.js";
import type { LocalCluster, LocalClusterOptions, LocalPara } from "../../../src/cli/localCluster.js";
import { ed25519Sign } from "../../../src/crypto/ed25519.js";
import type { Ed25519KeyPair } from "../../../src/crypto/ed25519.js";
import { RpcClient } from "../../../src/rpc/client.js";
import type { TxStatus } from "../../../src/rpc/api.js";
import { toHex, utf8 } from "../../../src/util/bytes.js";
import { until } from "./network.js";

/** A running cluster with clients for its validators and its para chains' nodes. */
export interface ParaNet {
  readonly cluster: LocalCluster;
  readonly main: readonly RpcClient[];
  /** Per para chain (cluster.paras order), a client per para node. */
  readonly paras: readonly (readonly RpcClient[])[];
}

const running = new Set<LocalCluster>();

/** Launches validators and para chains (output captured) and waits until the validators commit. */
export async function startParaNet(o: Omit<LocalClusterOptions, "logLevel" | "output">): Promise<ParaNet> {
  const cluster = await launchCluster({ ...o, logLevel: "info", output: "capture" });
  running.add(cluster);
  await waitUntilCommitting(cluster, 60_000);
  const client = (url: string) => new RpcClient({ url, timeoutMs: 5_000 });
  return { cluster, main: cluster.urls.map(client), paras: cluster.paras.map((p) => p.urls.map(client)) };
}

/** Stops every process of every cluster started here (by pid) and removes their directories. */
export async function stopParaNets(): Promise<void> {
  for (const c of [...running]) {
    running.delete(c);
    await c.stop();
    await rm(c.dir, { recursive: true, force: true });
  }
}

/** The tail of every process's output: validators, then para nodes. */
export function paraLogs(net: ParaNet): string {
  const tail = (what: string, cs: LocalCluster["children"]) =>
    cs
      .map((c, i) => (c === undefined ? "" : `--- ${what} ${i} pid ${c.proc.pid}${c.exited ? ` exited ${c.exitCode ?? c.proc.signalCode}` : ""}\n${c.output.split("\n").slice(-12).join("\n")}`))
      .join("\n");
  return [tail("validator", net.cluster.children), ...net.cluster.paras.map((p) => tail(`para ${p.title} node`, p.children))].join("\n");
}

/** An account tx signed for `chainId` (the chain it executes on). */
export function signAccountTx(key: Ed25519KeyPair, chainId: string, input: Omit<AccountTxInput, "from">): Uint8Array {
  const body = encodeAccountTxBody({ ...input, from: key.publicKey });
  return attachSignature(body, ed25519Sign(key.secretKey, signingMessage(utf8(chainId), body)));
}

/** Submits `tx` to `client` (it must be accepted) and returns its id. */
export async function submit(client: RpcClient, tx: Uint8Array): Promise<Uint8Array> {
  const r = await client.submitTx(tx);
  assert.ok(r.status === "accepted" || r.status === "duplicate", `submit refused: ${JSON.stringify(r)}`);
  return r.id;
}

/** Waits until `client` has committed tx `id`. */
export async function committed(net: ParaNet, client: RpcClient, id: Uint8Array, timeoutMs = 30_000): Promise<TxStatus & { height: number; ok: boolean }> {
  return until(
    `tx ${toHex(id).slice(0, 16)} committed on ${client.baseUrl}`,
    async () => {
      const s = await client.txStatus(id);
      return s !== null && s.status === "committed" ? (s as TxStatus & { height: number; ok: boolean }) : undefined;
    },
    timeoutMs,
    () => paraLogs(net),
  );
}

/** Waits until every validator that is up has committed `height`. */
export async function mainHeight(net: ParaNet, height: number, timeoutMs = 60_000, nodes = net.main.map((_, i) => i)): Promise<void> {
  await until(
    `main height ${height}`,
    async () => ((await Promise.all(nodes.map((i) => net.main[i]!.status()))).every((s) => s.committedHeight >= height) ? true : undefined),
    timeoutMs,
    () => paraLogs(net),
  );
}

/** Waits until the main chain (validator `via`) says para chain `title` is done at least up to `height`. */
export async function doneAtLeast(net: ParaNet, title: string, height: number, timeoutMs = 60_000, via = 1): Promise<number> {
  return until(
    `${title} done ≥ ${height}`,
    async () => {
      const s = await net.main[via]!.paraStatus(title);
      return s !== null && s.doneHeight >= height ? s.doneHeight : undefined;
    },
    timeoutMs,
    () => paraLogs(net),
  );
}

/** The lowest para head among the listed para nodes of chain `k`. */
export async function paraHead(net: ParaNet, k: number, nodes = net.paras[k]!.map((_, i) => i)): Promise<number> {
  return Math.min(...(await Promise.all(nodes.map(async (i) => (await net.paras[k]![i]!.status()).committedHeight))));
}

/**
 * No hole: the main chain lists none, and every height 1..done has a done commit whose block hash is the para block
 * at that height on each listed para node (all of them agreeing).
 */
export async function assertContiguous(net: ParaNet, k: number, via = 1, nodes = net.paras[k]!.map((_, i) => i)): Promise<number> {
  const para: LocalPara = net.cluster.paras[k]!;
  const s = (await net.main[via]!.paraStatus(para.title))!;
  assert.deepEqual(s.holes, [], `holes of ${para.title}`);
  const done = s.doneHeight;
  // A node that was down may trail the done height the others made: compare once it has the blocks.
  await until(`para nodes ${nodes.join(",")} at done height ${done}`, async () => ((await paraHead(net, k, nodes)) >= done ? true : undefined), 30_000, () => paraLogs(net));
  const hashes = await Promise.all(nodes.map((i) => blockHashes(net.paras[k]![i]!, 1, done)));
  for (let h = 1; h <= done; h++) {
    const c = await net.main[via]!.paraCommit(para.title, h);
    assert.ok(c !== null, `${para.title} height ${h} ≤ done ${done} has no done commit`);
    assert.equal(c.height, h);
    for (const [j, hs] of hashes.entries()) assert.equal(toHex(c.decoded.blockHash), hs[h - 1], `para node ${nodes[j]} block ${h} is not the done one`);
  }
  return done;
}

/** The block hashes of heights from..to (hex), in pages the server allows. */
export async function blockHashes(client: RpcClient, from: number, to: number): Promise<string[]> {
  const out: string[] = [];
  for (let h = from; h <= to; h += 100) {
    const page = await client.blocks(h, Math.min(to, h + 99));
    out.push(...page.map((b) => toHex(b.hash)));
  }
  assert.equal(out.length, Math.max(0, to - from + 1), `${client.baseUrl} serves blocks ${from}..${to}`);
  return out;
}

/** A counter's value in Prometheus text (0 when absent). */
export function metricValue(text: string, name: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? 0 : Number(line.slice(name.length + 1));
}

/**
 * An HTTP relay in front of one main node, put first in the para nodes' mainRpc lists: it forwards everything
 * (streams included) except the commit txs it is told to lose, which it answers 202 as the node would and drops, as
 * a main node that accepted a tx and died before it was carried or gossiped. When the node behind it is down, every
 * request fails as it would against that node.
 */
export interface LossyRelay {
  readonly url: string;
  /** Lose the next commit tx of each listed para node (by signer index). */
  loseNextCommitOf(signers: readonly number[]): void;
  /** The commit txs lost so far, as sent. */
  readonly lost: Uint8Array[];
  close(): Promise<void>;
}

export async function startLossyRelay(target: string): Promise<LossyRelay> {
  const t = new URL(target);
  const toLose = new Set<number>();
  const lost: Uint8Array[] = [];
  const hasher = defaultHasher();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      if (req.method === "POST" && req.url === "/v1/tx" && body[0] === COMMIT_TX_TAG && body.length > 4) {
        const signer = (body[2]! << 8) | body[3]!;
        if (toLose.delete(signer)) {
          lost.push(new Uint8Array(body));
          res.writeHead(202, { "Content-Type": "application/json" }).end(JSON.stringify({ id: toHex(hasher.digest(body)) }));
          return;
        }
      }
      const fwd = request({ host: t.hostname, port: t.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      fwd.on("error", () => res.destroy());
      res.on("close", () => fwd.destroy());
      fwd.end(body);
    });
  });
  // The head stream is a WebSocket: its upgrade request and then its bytes, both ways, relayed as they are.
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const up = connect(Number(t.port), t.hostname, () => {
      const headers = Object.entries(req.headers).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${k}: ${x}\r\n`));
      up.write(`${req.method} ${req.url} HTTP/1.1\r\n${headers.join("")}\r\n`);
      if (head.length > 0) up.write(head);
      socket.pipe(up).pipe(socket);
    });
    up.on("error", () => socket.destroy());
    socket.on("error", () => up.destroy());
    socket.on("close", () => up.destroy());
    up.on("close", () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    loseNextCommitOf: (signers) => signers.forEach((s) => toLose.add(s)),
    lost,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Rewrites the para nodes' configs of `title` in a fresh network: `url` in place of the first main node's. */
export async function replaceFirstMainRpc(dir: string, title: string, url: string): Promise<void> {
  const paraDir = join(dir, `para-${title}`);
  for (const d of (await readdir(paraDir)).filter((x) => /^node\d+$/.test(x))) {
    const file = join(paraDir, d, "config.json");
    const doc = JSON.parse(await readFile(file, "utf8")) as { mainRpc: string[] };
    doc.mainRpc = [url, ...doc.mainRpc.slice(1)];
    await writeFile(file, JSON.stringify(doc, null, 2) + "\n");
  }
}
