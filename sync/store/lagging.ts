/**
 * LaggingStore: wraps a store and makes its listings lag its writes, as OpenStack Swift's do
 * (a container listing is updated after the object write it reports, asynchronously when the
 * container server is busy, and each container replica catches up on its own): a key just put may
 * be missing from a listing, or listed with its previous size and version, and a key just deleted
 * may still be listed. Reads (get, getStream, head) always see the latest write.
 *
 * A listing answers as if the last `lag` writes and deletes (over the whole store) had not yet
 * happened, `lag` being the number `opts.lag` gives for that listing: a fixed one, or a seeded
 * draw per listing, so that a listing may even show an older state than the one before it (a
 * replica further behind).
 *
 * What must hold: the same sequence of calls gives the same listings (deterministic for a seed);
 * with `lag` 0 it lists exactly what the inner store lists.
 */
import type { ListOptions, ObjectInfo, ObjectStore, PutBody } from './index.js';
import { ForwardingStore } from './forwarding.js';

export interface LaggingOptions {
  /** How many of the latest writes and deletes the next listing (of `prefix`) does not show yet. */
  lag: (prefix: string) => number;
}

interface Change {
  key: string;
  /** The key as listed before the change; undefined when it did not exist. */
  before: ObjectInfo | undefined;
}

/** Changes remembered: a lag reaches back at most this far. */
const MAX_LAG = 1000;

export class LaggingStore extends ForwardingStore {
  private readonly changes: Change[] = [];
  /** Writes and deletes so far (a test's lag may count those since a point). */
  writes = 0;

  constructor(inner: ObjectStore, private readonly opts: LaggingOptions) {
    super(inner);
  }

  override async put(key: string, body: PutBody): Promise<void> {
    const before = await this.listed(key);
    try {
      await this.inner.put(key, body);
    } finally {
      // A put that failed may still have happened.
      this.changed(key, before);
    }
  }

  override async delete(key: string): Promise<void> {
    const before = await this.listed(key);
    try {
      await this.inner.delete(key);
    } finally {
      this.changed(key, before);
    }
  }

  override async *list(prefix: string, opts: ListOptions = {}): AsyncIterable<ObjectInfo> {
    const lag = Math.min(Math.max(0, Math.floor(this.opts.lag(prefix))), this.changes.length);
    const now = new Map<string, ObjectInfo>();
    for await (const info of this.inner.list(prefix, opts)) now.set(info.key, info);
    // Oldest of the unseen changes last: its `before` is what the lagging listing shows.
    for (const c of this.changes.slice(this.changes.length - lag).reverse()) {
      if (!c.key.startsWith(prefix) || (opts.startAfter !== undefined && c.key <= opts.startAfter)) continue;
      if (c.before === undefined) now.delete(c.key);
      else now.set(c.key, c.before);
    }
    const keys = [...now.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const key of keys) yield now.get(key) as ObjectInfo;
  }

  private changed(key: string, before: ObjectInfo | undefined): void {
    this.writes++;
    this.changes.push({ key, before });
    if (this.changes.length > MAX_LAG) this.changes.shift();
  }

  private async listed(key: string): Promise<ObjectInfo | undefined> {
    for await (const info of this.inner.list(key)) if (info.key === key) return info;
    return undefined;
  }
}
