/**
 * A loop that runs one async step at a time until a step says there is nothing left to do, with at most one run at
 * once: a trigger during a run makes that run go round once more (no trigger is lost) instead of starting a second.
 * The chain followers (the para node's main-chain follower, a follower node's chain follower) are driven this way by
 * their stream of new heads. A step that throws ends the run; `onError` decides what then (a retry, usually).
 */
export class StepLoop {
  private current: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly step: () => Promise<boolean>,
    private readonly onError: (e: unknown) => void,
    /** While false, triggers do nothing and a run stops after its step. */
    private readonly active: () => boolean,
  ) {}

  /** Starts a run, or makes the current one go on; resolves when the run is over. */
  trigger(): Promise<void> {
    if (!this.active()) return Promise.resolve();
    if (this.current !== null) {
      this.again = true;
      return this.current;
    }
    this.current = this.run().finally(() => {
      this.current = null;
    });
    return this.current;
  }

  /** Resolves when the current run (if any) is over. */
  idle(): Promise<void> {
    return this.current ?? Promise.resolve();
  }

  private async run(): Promise<void> {
    do {
      this.again = false;
      try {
        while (this.active() && (await this.step()));
      } catch (e) {
        this.onError(e);
        return;
      }
    } while (this.again && this.active());
  }
}
