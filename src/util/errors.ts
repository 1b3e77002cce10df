/**
 * The one base class for Quire's typed errors: a stable machine-readable `code` plus a plain payload.
 * Protocol rejections are returned or counted as these; internal invariant breaks throw them and stop the node.
 * Across a worker boundary, send `{ ok: false, code, payload }` records instead of Error objects.
 */
export class QuireError<Code extends string = string, Payload extends object = Record<string, unknown>> extends Error {
  readonly code: Code;
  readonly payload: Payload;

  constructor(code: Code, message: string, payload?: Payload) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.payload = payload ?? ({} as Payload);
  }
}

/** Thrown for malformed caller input to a utility (bad hex). */
export class InputError extends QuireError<"BAD_HEX"> {}

/** Awaits `p` and ignores its failure: closing is best effort, one layer failing to close must not keep others open. */
export async function settle(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch {
    // Best effort (see above).
  }
}
