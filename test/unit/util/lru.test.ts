import { test } from "node:test";
import assert from "node:assert/strict";
import { LruCache } from "../../../src/util/lru.js";
import { seededRng } from "../../support/seed.js";

test("lru: forgets the least recently used key once full; a hit refreshes a key", () => {
  const c = new LruCache<string, number>(2);
  c.set("a", 1);
  c.set("b", 2);
  assert.equal(c.get("a"), 1); // a is now the most recent
  c.set("c", 3);
  assert.equal(c.has("b"), false);
  assert.deepEqual([c.get("a"), c.get("c"), c.size], [1, 3, 2]);
  c.set("a", 10); // an update does not evict
  assert.deepEqual([c.get("a"), c.get("c"), c.size], [10, 3, 2]);
});

test("lru: matches a list model over random operations", (t) => {
  const rng = seededRng(t);
  const cap = 5;
  const c = new LruCache<number, number>(cap);
  let model: [number, number][] = []; // oldest first
  for (let i = 0; i < 2000; i++) {
    const k = rng.int(12);
    if (rng.chance(0.5)) {
      const v = rng.int(1000);
      c.set(k, v);
      model = model.filter(([mk]) => mk !== k);
      if (model.length >= cap) model.shift();
      model.push([k, v]);
    } else {
      const hit = model.find(([mk]) => mk === k);
      assert.equal(c.get(k), hit?.[1]);
      if (hit !== undefined) model = [...model.filter(([mk]) => mk !== k), hit];
    }
    assert.equal(c.size, model.length);
  }
});
