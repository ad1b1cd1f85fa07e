/**
 * Group commit for single-event requests: writes that arrive while `maxInFlight` writes are already running are
 * queued and go out together as one statement (at most `maxBatch` rows) when a slot frees up. An idle system
 * writes each event at once (no timer, no added latency); a busy one writes fewer, larger statements, which
 * spreads Postgres' per-statement cost (planning, commit, FK checks' overhead) over many events.
 *
 * Isolation: when a shared statement fails with an error Postgres raised for the statement (so it was rolled
 * back), each row is written again on its own, and only the rows that fail alone get the error. Any other error
 * (connection lost: commit unknown) goes to every caller of that statement, as it would without coalescing.
 */
export class InsertCoalescer<I extends { id: string }, O extends { id: string }> {
  private queue: { item: I; resolve: (o: O | null) => void; reject: (e: unknown) => void }[] = [];
  private inFlight = 0;

  constructor(
    private readonly insert: (items: I[]) => Promise<O[]>,
    private readonly isStatementError: (err: unknown) => boolean,
    private readonly maxInFlight: number,
    private readonly maxBatch: number,
  ) {}

  /** The written row, or null when the insert skipped it (its idempotency key was taken). */
  add(item: I): Promise<O | null> {
    return new Promise<O | null>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async run(batch: typeof this.queue): Promise<void> {
    try {
      const out = await this.insert(batch.map((b) => b.item));
      const byId = new Map(out.map((o) => [o.id, o]));
      for (const b of batch) b.resolve(byId.get(b.item.id) ?? null);
    } catch (err) {
      if (batch.length === 1 || !this.isStatementError(err)) {
        for (const b of batch) b.reject(err);
        return;
      }
      await Promise.all(
        batch.map(async (b) => {
          try {
            const [o] = await this.insert([b.item]);
            b.resolve(o ?? null);
          } catch (e) {
            b.reject(e);
          }
        }),
      );
    }
  }
}
