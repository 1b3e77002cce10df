import { MemoryChainData, MemoryChainStore } from "../../../src/chain/store/memoryStore.js";
import { META_KEYS } from "../../../src/chain/store/tableStore.js";
import { encodeU32 } from "../../../src/chain/store/records.js";
import { bytesKey } from "../../../src/util/bytes.js";
import { runChainStoreCompliance } from "./storeCompliance.js";

runChainStoreCompliance<MemoryChainData>({
  name: "MemoryChainStore",
  newLocation: () => Promise.resolve(new MemoryChainData()),
  open: (data, opts) => Promise.resolve().then(() => MemoryChainStore.open(opts, data)),
  setSchemaVersion: (data, version) => {
    data.tables.get("meta")!.set(bytesKey(META_KEYS.schemaVersion), [META_KEYS.schemaVersion, encodeU32(version)]);
    return Promise.resolve();
  },
  cleanup: () => Promise.resolve(),
});
