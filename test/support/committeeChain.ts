/**
 * An in-memory chain with committees by reputation (issue 15), for the tests that verify one across its rotations (the
 * follower's certified chain): five genesis validators with the validators module and `consensus.committee`
 * { size 4, everyHeights 10 }. Every QC holds the last quorum of its epoch's members by position, so the member at
 * position 0 never signs; every block is proposed by position 1 (always at the cap). The epochs below are worked out
 * by hand from the reputation rules (consensus/reputation.ts), not by the module — the fixture signs with them, and
 * each epoch's signers differ from the previous one's, so a module that rotated differently makes the follower refuse
 * the chain:
 *
 *   epoch 0, 1–9:   [0,1,2,3,4]  0 misses 2–8: 100 − (1+…+7) = 72 at the rotation block 8 → top 4 = [1,2,3,4]
 *   epoch 1, 10–19: [1,2,3,4]    1 misses 11–18: 64; passive 0: 64 (after 9) + 9 = 73 → [0,2,3,4] from 20
 *   epoch 2, 20–29: [0,2,3,4]    0 misses 21–28 (its run goes on: 9 + 10 × 7) → 0; passive 1: 55 + 9 = 64 → [1,2,3,4]
 *   epoch 3, 30–:   [1,2,3,4]
 */
import { DEFAULT_CONSENSUS } from "../../src/node/genesis.js";
import type { EpochView } from "../../src/rpc/api.js";
import { buildSignedChain } from "./epochChain.js";
import type { EpochChain } from "./epochChain.js";

export const COMMITTEE_TOP = 32;
export const COMMITTEE_EPOCHS: readonly EpochView[] = [
  { epoch: 0, startHeight: 1, members: [0, 1, 2, 3, 4] },
  { epoch: 1, startHeight: 10, members: [1, 2, 3, 4] },
  { epoch: 2, startHeight: 20, members: [0, 2, 3, 4] },
  { epoch: 3, startHeight: 30, members: [1, 2, 3, 4] },
];

export type CommitteeChain = EpochChain;

export function buildCommitteeChain(chainId = "quire-committee-chain"): Promise<CommitteeChain> {
  return buildSignedChain({
    chainId,
    keyPrefix: "committee-chain",
    keys: 5,
    genesisValidators: 5,
    consensus: { ...DEFAULT_CONSENSUS, committee: { size: 4, everyHeights: 10 } },
    top: COMMITTEE_TOP,
    epochs: COMMITTEE_EPOCHS,
    proposer: () => 1,
    signers: { quorum: "last", recorded: true },
  });
}
