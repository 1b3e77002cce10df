/**
 * A client of a sharded network for the tools (`quire bench xshard`, `quire cluster --shards`'s cross-shard trickle):
 * the shard faucets as senders, with their nonces tracked here, intra-shard account transfers and cross-shard
 * transfers (chain/app/xshard), and waiting for a transfer to commit or to be credited.
 */
import { join } from "node:path";
import { attachSignature, encodeAccountTxBody, signingMessage } from "../chain/app/accounts/accountTx.js";
import { attachSignatures, encodeTransferBody, transferId, transferSigningMessage } from "../chain/app/xshard/format.js";
import { shardOf } from "../chain/app/xshard/network.js";
import { loadAccountKeyFile } from "../crypto/accountKeyFile.js";
import { ed25519Keygen, ed25519Sign } from "../crypto/ed25519.js";
import type { Ed25519KeyPair } from "../crypto/ed25519.js";
import { defaultHasher } from "../crypto/hash/backends.js";
import type { NetworkManifest } from "../node/shardNetwork.js";
import { RpcClient } from "../rpc/client.js";
import { toHex, utf8 } from "../util/bytes.js";

export class ShardedClient {
  readonly clients: RpcClient[][];
  private readonly hasher = defaultHasher();
  private readonly nonces: number[] = [];

  private constructor(
    readonly manifest: NetworkManifest,
    readonly faucets: readonly Ed25519KeyPair[],
  ) {
    this.clients = manifest.shards.map((s) => s.rpc.map((url) => new RpcClient({ url, timeoutMs: 3_000 })));
  }

  /** Loads each shard's faucet (DIR/shard-i/faucet.key) and its current nonce. */
  static async open(manifest: NetworkManifest): Promise<ShardedClient> {
    const faucets = await Promise.all(manifest.shards.map((s) => loadAccountKeyFile(join(s.dir, "faucet.key"))));
    const c = new ShardedClient(manifest, faucets);
    for (const [s, f] of faucets.entries()) c.nonces[s] = (await c.clients[s]![0]!.account(f.publicKey)).nonce;
    return c;
  }

  get shardCount(): number {
    return this.manifest.shards.length;
  }

  /** A fresh account that lives on shard `s`. */
  accountOn(s: number): Ed25519KeyPair {
    for (;;) {
      const k = ed25519Keygen();
      if (shardOf(k.publicKey, this.shardCount, this.hasher) === s) return k;
    }
  }

  /** An intra-shard transfer from shard `s`'s faucet; returns its tx id (hex) once accepted. */
  async intra(s: number, to: Uint8Array, amount: number): Promise<string> {
    const f = this.faucets[s]!;
    const body = encodeAccountTxBody({ op: "transfer", from: f.publicKey, nonce: this.nonces[s]!, amount, to });
    const tx = attachSignature(body, ed25519Sign(f.secretKey, signingMessage(utf8(this.manifest.shards[s]!.chainId), body)));
    await this.submit(s, tx);
    this.nonces[s]!++;
    return toHex(this.hasher.digest(tx));
  }

  /** A cross-shard transfer from shard `from`'s faucet to `to` (on its own shard); returns the xid (hex) once accepted. */
  async cross(from: number, to: Uint8Array, amount: number): Promise<{ xid: string; outShard: number }> {
    const f = this.faucets[from]!;
    const outShard = shardOf(to, this.shardCount, this.hasher);
    const body = encodeTransferBody({ outShard, to, inputs: [{ shard: from, from: f.publicKey, nonce: this.nonces[from]!, amount }] });
    const netId = utf8(this.manifest.id);
    const tx = attachSignatures(body, [ed25519Sign(f.secretKey, transferSigningMessage(netId, body))]);
    await this.submit(from, tx);
    this.nonces[from]!++;
    return { xid: toHex(transferId(netId, body, this.hasher)), outShard };
  }

  /** Polls until tx `id` is committed on shard `s`; false after `timeoutMs`. */
  async committed(s: number, id: string, timeoutMs: number, pollMs = 10): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      const st = await this.clients[s]![0]!.txStatus(id).catch(() => null);
      if (st !== null && st.status === "committed") return true;
      await sleep(pollMs);
    }
    return false;
  }

  /** Polls until transfer `xid` is decided on its output shard: "credited" | "aborted", or null after `timeoutMs`. */
  async decided(outShard: number, xid: string, timeoutMs: number, pollMs = 10): Promise<string | null> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      const t = await this.clients[outShard]![0]!.xshardTransfer(Buffer.from(xid, "hex")).catch(() => null);
      if (t !== null && t.output !== null && t.output.status !== "collecting") return t.output.status;
      await sleep(pollMs);
    }
    return null;
  }

  private async submit(s: number, tx: Uint8Array): Promise<void> {
    const r = await this.clients[s]![0]!.submitTx(tx);
    if (r.status !== "accepted" && r.status !== "duplicate") throw new Error(`shard ${s} refused a tx: ${r.status === "invalid" ? r.reason : r.status}`);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
