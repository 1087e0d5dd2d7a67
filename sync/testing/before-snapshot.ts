/**
 * A store that runs `before` once, just before the first snapshot of `layer` is put through it: a
 * test's way to make something happen while a writer (a preload, a pass) is about to commit.
 */
import { keys } from '../repo/types.js';
import { ForwardingStore } from '../store/forwarding.js';
import type { ObjectStore, PutBody } from '../store/index.js';

export class BeforeSnapshot extends ForwardingStore {
  private done = false;
  constructor(
    inner: ObjectStore,
    private readonly layer: string,
    private readonly before: () => Promise<void>,
  ) {
    super(inner);
  }

  override async put(key: string, body: PutBody): Promise<void> {
    if (!this.done && key.startsWith(keys.snapshots(this.layer))) {
      this.done = true;
      await this.before();
    }
    return super.put(key, body);
  }
}
