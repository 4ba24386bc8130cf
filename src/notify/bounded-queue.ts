// A first-in first-out queue with a capacity: what does not fit is refused (the caller counts it
// as dropped), so a target that does not keep up costs a fixed amount of memory.

export class BoundedQueue<T> {
  private items: T[] = [];
  private head = 0;

  constructor(readonly capacity: number) {
    if (!(Number.isSafeInteger(capacity) && capacity >= 1)) throw new Error('capacity must be at least 1');
  }

  get length(): number {
    return this.items.length - this.head;
  }

  /** False when full (nothing is added). */
  push(item: T): boolean {
    if (this.length >= this.capacity) return false;
    this.items.push(item);
    return true;
  }

  peek(): T | undefined {
    return this.items[this.head];
  }

  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const item = this.items[this.head++];
    // Compact now and then instead of Array.shift on every take.
    if (this.head > 64 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Empties the queue, returning what it held. */
  clear(): T[] {
    const rest = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return rest;
  }
}
