/**
 * A counting semaphore whose capacity can change at run time and whose waiters are served by
 * priority (lower number first), then in arrival order. The capacity may be a function (the OCR
 * engine's live window), read on every acquire so a shrink takes effect at once; call refresh()
 * to let waiters in after it grows. Capacity 0 lets nothing through (e.g. every backend is down).
 */
export class Slots {
  #capacity: () => number;
  #inUse = 0;
  #waiters: Array<{ priority: number; seq: number; resolve: () => void }> = [];
  #seq = 0;

  constructor(capacity: number | (() => number)) {
    this.#capacity = typeof capacity === 'function' ? capacity : () => capacity;
  }

  get capacity() {
    return Math.max(0, Math.floor(this.#capacity()));
  }
  get inUse() {
    return this.#inUse;
  }
  get waiting() {
    return this.#waiters.length;
  }

  acquire(priority = 0): Promise<void> {
    if (this.#inUse < this.capacity && this.#waiters.length === 0) {
      this.#inUse++;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.#waiters.push({ priority, seq: this.#seq++, resolve });
      this.#waiters.sort((a, b) => a.priority - b.priority || a.seq - b.seq);
    });
  }

  release(): void {
    this.#inUse = Math.max(0, this.#inUse - 1);
    this.refresh();
  }

  setCapacity(n: number): void {
    this.#capacity = () => n;
    this.refresh();
  }

  /** Lets waiters in up to the current capacity. */
  refresh(): void {
    const cap = this.capacity;
    while (this.#inUse < cap && this.#waiters.length > 0) {
      this.#inUse++;
      this.#waiters.shift()!.resolve();
    }
  }
}
