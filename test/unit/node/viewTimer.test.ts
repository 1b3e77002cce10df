/**
 * The shell's view timer on a clock that fires early. Node's timers run on a monotonic clock while the node's
 * scheduler reads `Date.now`, so a timer can fire a millisecond before its deadline by that clock (measured: 16 of 600).
 * The core ignores a timer input before its deadline and re-arms nothing, so a shell that fed it anyway would lose
 * the timer for good — and with two honest replicas losing theirs, a crashed leader's view never times out.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildGenesisBlock } from "../../../src/chain/blocks.js";
import { MemoryChainStore } from "../../../src/chain/store/memoryStore.js";
import { bitmapSignerSets } from "../../../src/consensus/adapters/bitmapSignerSets.js";
import { blockHasher } from "../../../src/consensus/blockHash.js";
import { SchemeCertificates } from "../../../src/consensus/scheme.js";
import { SendStatus } from "../../../src/net/transport.js";
import { buildConsensusStack } from "../../../src/node/consensusStack.js";
import { SILENT } from "../../../src/node/logger.js";
import { InsecureTestScheme } from "../../../src/sim/insecureTestScheme.js";
import { ManualScheduler } from "../../../src/util/clock.js";
import type { Scheduler, TimerHandle } from "../../../src/util/clock.js";
import { utf8 } from "../../../src/util/bytes.js";
import { decodeMessage } from "../../../src/wire/codec.js";

/**
 * Virtual time whose timers longer than `earlyMs` fire `earlyMs` before they are due (as a wall clock that lags the
 * timer clock; a timer of at most `earlyMs` fires on time, as real time has moved on by then).
 */
class EarlyScheduler implements Scheduler {
  constructor(
    readonly inner: ManualScheduler,
    private readonly earlyMs: number,
  ) {}
  now(): number {
    return this.inner.now();
  }
  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    return this.inner.setTimeout(fn, delayMs > this.earlyMs ? delayMs - this.earlyMs : delayMs);
  }
}

function timeoutsSent(earlyMs: number): number[] {
  const chainId = utf8("quire-timer-test");
  const genesis = buildGenesisBlock({ timestampMs: 0 });
  const scheme = new InsecureTestScheme(4, 3);
  const clock = new ManualScheduler();
  const views: number[] = [];
  // Validator 0 alone: the leaders of views 1, 2 and 3 never speak, so only its timer moves it on.
  const stack = buildConsensusStack(
    {
      chainId,
      self: 0,
      validatorCount: 4,
      genesis,
      pacemaker: { baseTimeoutMs: 100, backoffFactor: 2, maxTimeoutMs: 400 },
      block: { maxTxs: 10, maxBytes: 1 << 16, minIntervalMs: 0, emptyIntervalMs: 0 },
      gossip: { intervalMs: 50, maxBatchTxs: 10, maxBatchBytes: 1 << 16 },
    },
    {
      store: MemoryChainStore.open({ chainId, genesisHash: blockHasher()(genesis.header) }),
      certificates: new SchemeCertificates({ chainId, validatorCount: 4 }, scheme, bitmapSignerSets()),
      signer: scheme.signer(0),
      precheck: null,
      transport: {
        peers: [1, 2, 3],
        send: (to, _priority, payload) => {
          const m = decodeMessage(payload);
          if (to === 1 && m.kind === "timeout") views.push(m.body.view);
          return SendStatus.Queued;
        },
      },
      scheduler: new EarlyScheduler(clock, earlyMs),
      logger: SILENT,
      onCommit: () => {},
      onFatal: (e) => assert.fail(String(e)),
    },
  );
  stack.shell.start();
  clock.advance(2_000);
  stack.shell.stop();
  return views;
}

test("a view timer that fires early is re-armed for the rest, not lost: every view times out", () => {
  const onTime = timeoutsSent(0);
  assert.ok(onTime.length >= 4, `on time: ${onTime.join(",")}`);
  // 1 ms early: the same timeouts, in the same views (the re-armed timer fires at the deadline).
  assert.deepEqual(timeoutsSent(1), onTime);
});
