/**
 * LossyTreeWatch: a tree watch (sync/watch/dirwatch.ts TreeWatch) that overflows as Windows's
 * does. ReadDirectoryChangesW holds a change buffer; a burst that overflows it loses the changes,
 * and libuv then calls back with no filename (Node: ('change', null)). Here each read of the
 * events holds `size` of them: the rest are lost, and one nameless event follows in their place.
 * Lets a test on Linux take the macOS/Windows path. It watches the root alone (one inotify watch):
 * a test writes its files there.
 */
import { watch } from 'node:fs';
import type { TreeWatch } from '../watch/index.js';

export class LossyTreeWatch {
  /** Events lost so far. */
  lost = 0;
  /** Nameless events given so far: one for each read that lost events. */
  nameless = 0;
  private inRead = 0;

  constructor(readonly size: number) {}

  readonly watch: TreeWatch = (root, listener) =>
    watch(root, { persistent: true }, (event, name) => {
      if (this.inRead++ === 0) setImmediate(() => (this.inRead = 0));
      if (this.inRead <= this.size) return listener(event, name);
      this.lost++;
      if (this.inRead === this.size + 1) {
        this.nameless++;
        listener('change', null);
      }
    });
}
