/**
 * The consensus safety state as the chain store keeps it (`ChainStore.saveSafetyState` takes opaque bytes).
 *
 * Layout: UTF-8 JSON `{"version":1,"lastVotedView","lastProposedView","highQc","lastVote","lastTimeout","lastTc"}`
 * where the certificates, the vote and the timeout are hex of their wire encodings (src/wire/codec.ts), so they
 * decode through the same checked decoder as network messages. A few hundred bytes, written once or twice per view:
 * the fsync behind each write costs far more than the encoding.
 */
import { decodeMessage, encodeMessage } from "../wire/codec.js";
import { WireError } from "../wire/errors.js";
import type { Message, QuorumCert, Timeout, TimeoutCert, Vote } from "../wire/types.js";
import type { SafetyState } from "../consensus/types.js";
import { fromHex, toHex } from "../util/bytes.js";
import { InputError } from "../util/errors.js";
import { NodeError } from "./errors.js";

const VERSION = 1;

export function encodeSafetyState(s: SafetyState): Uint8Array {
  const doc = {
    version: VERSION,
    lastVotedView: s.lastVotedView,
    lastProposedView: s.lastProposedView,
    highQc: toHex(encodeMessage({ kind: "qc", body: s.highQc })),
    lastVote: s.lastVote === null ? null : toHex(encodeMessage({ kind: "vote", body: s.lastVote })),
    lastTimeout: s.lastTimeout === null ? null : toHex(encodeMessage({ kind: "timeout", body: s.lastTimeout })),
    lastTc: s.lastTc === null ? null : toHex(encodeMessage({ kind: "tc", body: s.lastTc })),
  };
  return new TextEncoder().encode(JSON.stringify(doc));
}

/** Decodes what `encodeSafetyState` wrote; throws `NodeError("CORRUPT_SAFETY_STATE")` on anything else. */
export function decodeSafetyState(bytes: Uint8Array): SafetyState {
  let doc: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    if (typeof parsed !== "object" || parsed === null) throw new TypeError("not an object");
    doc = parsed as Record<string, unknown>;
  } catch (e) {
    throw corrupt(`not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (doc["version"] !== VERSION) throw corrupt(`unknown version ${String(doc["version"])}`);
  const view = (k: string): number => {
    const v = doc[k];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw corrupt(`${k} is not a view`);
    return v;
  };
  return {
    lastVotedView: view("lastVotedView"),
    lastProposedView: view("lastProposedView"),
    highQc: message(doc, "highQc", "qc"),
    lastVote: doc["lastVote"] === null ? null : message(doc, "lastVote", "vote"),
    lastTimeout: doc["lastTimeout"] === null ? null : message(doc, "lastTimeout", "timeout"),
    lastTc: doc["lastTc"] === null ? null : message(doc, "lastTc", "tc"),
  };
}

interface Bodies {
  qc: QuorumCert;
  vote: Vote;
  timeout: Timeout;
  tc: TimeoutCert;
}

function message<K extends keyof Bodies>(doc: Record<string, unknown>, key: string, kind: K): Bodies[K] {
  const v = doc[key];
  if (typeof v !== "string") throw corrupt(`${key} is missing`);
  let m: Message;
  try {
    m = decodeMessage(fromHex(v));
  } catch (e) {
    if (e instanceof WireError || e instanceof InputError) throw corrupt(`${key}: ${e.code}`);
    throw e;
  }
  if (m.kind !== kind) throw corrupt(`${key} holds a ${m.kind}, not a ${kind}`);
  return m.body as Bodies[K];
}

function corrupt(why: string): NodeError {
  return new NodeError("CORRUPT_SAFETY_STATE", `the stored consensus safety state is damaged: ${why}`);
}
