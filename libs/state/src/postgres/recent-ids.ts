/** A bounded set of ids, the oldest forgotten first: answers "seen lately", never "never seen". */
export class RecentIds {
  private readonly ids = new Set<string>();

  constructor(private readonly capacity: number) {}

  has(id: string): boolean {
    return this.ids.has(id);
  }

  add(id: string): void {
    if (this.ids.has(id)) return;
    this.ids.add(id);
    if (this.ids.size <= this.capacity) return;
    const oldest = this.ids.values().next();
    if (oldest.done !== true) this.ids.delete(oldest.value);
  }
}
