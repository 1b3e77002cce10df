import { test } from "node:test";
import assert from "node:assert/strict";
import { WasmCore, simdAvailable, wasmCore } from "../../../src/crypto/wasm/loader.js";

test("both builds instantiate synchronously and the default picks SIMD when the runtime validates it", () => {
  const scalar = new WasmCore("scalar");
  assert.equal(scalar.variant, "scalar");
  assert.equal(wasmCore().variant, simdAvailable() ? "simd" : "scalar");
  assert.equal(wasmCore(), wasmCore());
});

test("the scratch arena grows linear memory and the view follows the new buffer", () => {
  const core = new WasmCore("scalar");
  const before = core.exports.memory.buffer.byteLength;
  const base = core.reserve(before + (3 << 20));
  assert.ok(base > 0 && base % 64 === 0);
  const view = core.u8();
  assert.ok(view.length >= base + before + (3 << 20));
  view[base + before + (3 << 20) - 1] = 7;
  assert.equal(core.u8()[base + before + (3 << 20) - 1], 7);
});

test("reserve fails with a typed error instead of trapping when memory cannot grow", () => {
  const core = new WasmCore("scalar");
  assert.throws(() => core.reserve(8 * 1024 ** 3), (e: unknown) => e instanceof Error && "code" in e && e.code === "WASM_OOM");
});
