/**
 * A verified QC or TC on its own (a catch-up answer to our stale timeout). Apply: the same certificate processing a
 * proposal's justification gets — it may commit blocks and moves us to the view after it.
 */
import { processQc, processTc } from "./core.js";
import type { Draft } from "./core.js";
import type { QuorumCert, TimeoutCert } from "../domain/types.js";

export function onQc(d: Draft, from: number, qc: QuorumCert): void {
  processQc(d, qc, from);
}

export function onTc(d: Draft, from: number, tc: TimeoutCert): void {
  processTc(d, tc, from);
}
