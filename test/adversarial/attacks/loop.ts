/**
 * The life cycle every connection attack shares: start `count` connections, print `started`, print the counters as one
 * JSON line every second, and stop after `durationMs` or on SIGTERM/SIGINT (one last report, then exit 0).
 */
export interface AttackLoop {
  /** True once the attack is stopping: connection handlers must not open new connections. */
  readonly stopping: boolean;
}

export function runAttackLoop(stats: object, count: number, durationMs: number, openOne: () => void, onStop: () => void = () => {}): AttackLoop {
  const loop = { stopping: false };
  const report = (): void => {
    process.stdout.write(JSON.stringify(stats) + "\n");
  };
  const ticker = setInterval(report, 1_000);
  const stop = (): void => {
    if (loop.stopping) return;
    loop.stopping = true;
    clearInterval(ticker);
    report();
    onStop();
    setTimeout(() => process.exit(0), 200).unref();
  };
  setTimeout(stop, durationMs).unref();
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  // Next turn: the caller's `const loop = runAttackLoop(…)` is assigned before any handler reads it.
  setImmediate(() => {
    for (let i = 0; i < count; i++) openOne();
    process.stdout.write("started\n");
  });
  return loop;
}
