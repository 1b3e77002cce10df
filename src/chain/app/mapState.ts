/**
 * A `StateWriter` over a plain Map: application state with no store and no executor behind it, for the tests and
 * benches that drive an application directly (`beginBlock` / `deliver` / `commit`), and the epoch replay of `quire
 * audit` and followers (node/epochSets.ts), which holds the validators module's state alone.
 */
import { bytesKey } from "../../util/bytes.js";
import type { StateWriter } from "./interface.js";

export class MapState implements StateWriter {
  readonly map = new Map<string, Uint8Array>();

  get(key: Uint8Array): Uint8Array | undefined {
    return this.map.get(bytesKey(key));
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.map.set(bytesKey(key), value);
  }

  delete(key: Uint8Array): void {
    this.map.delete(bytesKey(key));
  }

  /** An independent copy (values are never mutated in place, so they are shared). */
  clone(): MapState {
    const c = new MapState();
    for (const [k, v] of this.map) c.map.set(k, v);
    return c;
  }
}
