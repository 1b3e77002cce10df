import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { open } from "lmdb";
import { LmdbChainStore } from "../../../src/chain/store/lmdbStore.js";
import { META_KEYS } from "../../../src/chain/store/tableStore.js";
import { encodeU32 } from "../../../src/chain/store/records.js";
import { runChainStoreCompliance } from "./storeCompliance.js";
import { CHAIN_ID } from "./support/fixtures.js";

const newDir = (): string => mkdtempSync(join(tmpdir(), "quire-chain-"));

runChainStoreCompliance<string>({
  name: "LmdbChainStore",
  newLocation: () => Promise.resolve(newDir()),
  open: (path, opts) => LmdbChainStore.open({ ...opts, path }),
  setSchemaVersion: async (path, version) => {
    // Plants a version the way another Quire build would have written it: straight into the meta table.
    const env = open({ path, maxDbs: 8 });
    const meta = env.openDB<Uint8Array, Uint8Array>({ name: "meta", encoding: "binary", keyEncoding: "binary" });
    meta.transactionSync(() => meta.putSync(META_KEYS.schemaVersion, encodeU32(version)));
    await env.close();
  },
  cleanup: (path) => Promise.resolve(rmSync(path, { recursive: true, force: true })),
});

test("LmdbChainStore: a path with a dot is still a directory", async () => {
  const parent = newDir();
  try {
    const path = join(parent, "node0.chain");
    const s = await LmdbChainStore.open({ chainId: CHAIN_ID, path });
    await s.close();
    const again = await LmdbChainStore.open({ chainId: CHAIN_ID, path });
    assert.equal(again.backend, "lmdb");
    await again.close();
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});
