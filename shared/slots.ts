/**
 * A counting semaphore whose capacity can change at run time (the OCR flow controller resizes it)
 * and whose waiters are served by priority (lower number first), then in arrival order.
 */
export class Slots {
  #capacity: number;
  #inUse = 0;
  #waiters: Array<{ priority: number; seq: number; resolve: () => void }> = [];
  #seq = 0;

  constructor(capacity: number) {
    this.#capacity = Math.max(1, capacity);
  }

  get capacity() {
    return this.#capacity;
  }
  get inUse() {
    return this.#inUse;
  }
  get waiting() {
    return this.#waiters.length;
  }

  acquire(priority = 0): Promise<void> {
    if (this.#inUse < this.#capacity && this.#waiters.length === 0) {
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
    this.#wake();
  }

  setCapacity(n: number): void {
    this.#capacity = Math.max(1, Math.floor(n));
    this.#wake();
  }

  #wake() {
    while (this.#inUse < this.#capacity && this.#waiters.length > 0) {
      this.#inUse++;
      this.#waiters.shift()!.resolve();
    }
  }
}
