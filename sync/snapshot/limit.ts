/**
 * Background jobs with a bound: at most `limit` run at once, and `start` waits for a free slot, so
 * the directory walker cannot run ahead of the chunker and queue a whole disk's worth of work.
 * A job's failure is kept (the first one wins) and rethrown by `check`, instead of escaping as an
 * unhandled rejection while the walker is busy elsewhere; a failed job's result is undefined.
 */
export interface Started<T> {
  result: Promise<T | undefined>;
}

export class JobLimit {
  private running = 0;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly waiters: (() => void)[] = [];
  private failure: { err: unknown } | undefined;

  constructor(private readonly limit: number) {}

  /** Throws the first failure of any job started so far. */
  check(): void {
    if (this.failure) throw this.failure.err;
  }

  /** Waits for a slot, then runs `job` in the background. */
  async start<T>(job: () => Promise<T>): Promise<Started<T>> {
    while (this.running >= this.limit) await new Promise<void>((r) => this.waiters.push(r));
    this.check();
    this.running++;
    const result = job()
      .catch((err: unknown) => {
        this.failure ??= { err };
        return undefined;
      })
      .finally(() => {
        this.running--;
        this.inFlight.delete(result);
        this.waiters.shift()?.();
      });
    this.inFlight.add(result);
    return { result };
  }

  /** Resolves once no job is running (after a failure, so that no job outlives the operation). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }
}
