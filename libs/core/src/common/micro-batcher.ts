/**
 * Collects single calls into batches: `add(item)` resolves with that item's result once the batch it joined is
 * flushed. A batch is flushed when it reaches `maxSize` or `maxWaitMs` after its first item. The flush function
 * gets the items in order and returns one result per item (or throws: every caller of that batch gets the error).
 */
export class MicroBatcher<I, O> {
  private items: I[] = [];
  private waiters: { resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private inFlight = new Set<Promise<void>>();

  constructor(
    private readonly flushFn: (items: I[]) => Promise<O[]>,
    private readonly maxSize: number,
    private readonly maxWaitMs: number,
  ) {}

  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.items.push(item);
      this.waiters.push({ resolve, reject });
      if (this.items.length >= this.maxSize) this.flush();
      else if (!this.timer) this.timer = setTimeout(() => this.flush(), this.maxWaitMs);
    });
  }

  /** Flushes what is pending now and waits for every batch still being written. */
  async drain(): Promise<void> {
    this.flush();
    await Promise.allSettled([...this.inFlight]);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.items.length === 0) return;
    const items = this.items;
    const waiters = this.waiters;
    this.items = [];
    this.waiters = [];
    const p = this.run(items, waiters);
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private async run(items: I[], waiters: { resolve: (o: O) => void; reject: (e: unknown) => void }[]) {
    try {
      const out = await this.flushFn(items);
      if (out.length !== items.length)
        throw new Error(`batch flush returned ${out.length} results for ${items.length} items`);
      out.forEach((o, i) => waiters[i].resolve(o));
    } catch (err) {
      waiters.forEach((w) => w.reject(err));
    }
  }
}
