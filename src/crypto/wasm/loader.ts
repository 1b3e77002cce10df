import { SCALAR_WASM_BASE64, SIMD_WASM_BASE64 } from "./wasmBytes.generated.js";
import { QuireError } from "../../util/errors.js";

/** Which compiled build of assembly/ an instance runs. */
export type WasmVariant = "simd" | "scalar";

/** Raised when the core traps or cannot grow its memory — always a bug or resource exhaustion, never bad input. */
export class WasmCoreError extends QuireError<"WASM_ABORT" | "WASM_OOM" | "WASM_UNSUPPORTED"> {}

/** The exports every build has; feature modules (sha256, merkle, bitmap) declare typed views of their own. */
export interface WasmBaseExports {
  memory: WebAssembly.Memory;
  scratch(bytes: number): number;
  scratchBase(): number;
}

/**
 * One instance of the crypto core. Not thread-safe by design: each thread (main or worker) has its own.
 * Inputs and outputs go through the scratch arena: `reserve(n)` makes room and returns the arena base;
 * `u8()` returns a view of linear memory that is valid until the next call that may grow memory.
 */
export class WasmCore {
  readonly variant: WasmVariant;
  readonly exports: WasmBaseExports & Record<string, unknown>;
  private view: Uint8Array;

  constructor(variant: WasmVariant) {
    const bytes = variant === "simd" ? decode(SIMD_WASM_BASE64) : decode(SCALAR_WASM_BASE64);
    if (!WebAssembly.validate(bytes)) throw new WasmCoreError("WASM_UNSUPPORTED", `this runtime cannot run the ${variant} build`);
    const module = new WebAssembly.Module(bytes);
    const instance = new WebAssembly.Instance(module, imports(module));
    this.variant = variant;
    this.exports = instance.exports as unknown as WasmBaseExports & Record<string, unknown>;
    this.view = new Uint8Array(this.exports.memory.buffer);
  }

  /** Grows the arena to at least `bytes` and returns its base address. */
  reserve(bytes: number): number {
    // wasm32 addresses are 32-bit: anything larger would wrap inside the core, so refuse it here.
    if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes > 0xffffffff) {
      throw new WasmCoreError("WASM_OOM", `cannot reserve ${bytes} bytes of wasm scratch`);
    }
    const base = this.exports.scratch(bytes);
    if (base === 0) throw new WasmCoreError("WASM_OOM", `cannot grow wasm memory to ${bytes} bytes of scratch`);
    return base;
  }

  /** The current view of linear memory (re-created after growth detaches the old buffer). */
  u8(): Uint8Array {
    if (this.view.buffer !== this.exports.memory.buffer) this.view = new Uint8Array(this.exports.memory.buffer);
    return this.view;
  }
}

function decode(b64: string): Uint8Array {
  return new Uint8Array(Buffer.from(b64, "base64"));
}

function imports(module: WebAssembly.Module): WebAssembly.Imports {
  const env: Record<string, WebAssembly.ImportValue> = {
    abort: (_msg: number, _file: number, line: number, col: number) => {
      throw new WasmCoreError("WASM_ABORT", `wasm core aborted at ${line}:${col}`);
    },
  };
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.module !== "env" || !(imp.name in env)) {
      throw new WasmCoreError("WASM_UNSUPPORTED", `wasm core imports unknown ${imp.module}.${imp.name}`);
    }
  }
  return { env };
}

let simdSupported: boolean | undefined;

/** True when this runtime validates the SIMD build. */
export function simdAvailable(): boolean {
  if (simdSupported === undefined) simdSupported = WebAssembly.validate(decode(SIMD_WASM_BASE64));
  return simdSupported;
}

let shared: WasmCore | undefined;

/** The thread's default core: the SIMD build when the runtime validates it, else the scalar fallback. */
export function wasmCore(): WasmCore {
  shared ??= new WasmCore(simdAvailable() ? "simd" : "scalar");
  return shared;
}
