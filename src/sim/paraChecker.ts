/**
 * The paracross invariant of a multi-chain run (DESIGN §10): on every honest main replica, every done para height is
 * contiguous from 1, each done commit was agreed by ≥ 2/3 of the para nodes, all main replicas hold the same done
 * commit for a height, and it is the commit the honest para nodes computed (when they agree).
 *
 * It reads what the main replicas' paracross modules report (their committed state), not what the para nodes say
 * they sent, so a module that declared done too early, out of order or on too few signers is caught.
 */
import { toHex } from "../util/bytes.js";
import type { Violation } from "./checkers.js";

/** What one main replica's paracross module reports for a title. */
export interface ParaDoneView {
  readonly instance: number;
  readonly doneHeight: number;
  /** The done commit at `height` (≤ doneHeight), or null when the module has none (a hole). */
  commitAt(height: number): { readonly message: Uint8Array; readonly signerCount: number } | null;
}

/**
 * Checks the invariant for one title with `nodes` para nodes. `honestMessage(h)` is the commit message the honest
 * para nodes computed for height h (null when they did not all compute one: nothing to compare).
 */
export function checkParaDone(title: string, nodes: number, views: readonly ParaDoneView[], honestMessage: (height: number) => Uint8Array | null): Violation[] {
  const out: Violation[] = [];
  const agreed = new Map<number, { hex: string; instance: number }>();
  for (const v of views) {
    for (let h = 1; h <= v.doneHeight; h++) {
      const c = v.commitAt(h);
      if (c === null) {
        out.push({ kind: "para", message: `${title}: replica ${v.instance} reports done height ${v.doneHeight} but no done commit at ${h} (a hole below done)`, instances: [v.instance], height: h });
        break;
      }
      if (3 * c.signerCount < 2 * nodes) {
        out.push({ kind: "para", message: `${title}: replica ${v.instance} declared height ${h} done with ${c.signerCount} of ${nodes} signers (< 2/3)`, instances: [v.instance], height: h });
      }
      const hex = toHex(c.message);
      const seen = agreed.get(h);
      if (seen === undefined) agreed.set(h, { hex, instance: v.instance });
      else if (seen.hex !== hex) {
        out.push({ kind: "para", message: `${title}: replicas ${seen.instance} and ${v.instance} hold different done commits at height ${h}`, instances: [seen.instance, v.instance], height: h });
      }
      const honest = honestMessage(h);
      if (honest !== null && toHex(honest) !== hex) {
        out.push({ kind: "para", message: `${title}: replica ${v.instance}'s done commit at height ${h} is not the one the honest para nodes computed`, instances: [v.instance], height: h });
      }
      if (out.length >= 10) return out;
    }
  }
  return out;
}
