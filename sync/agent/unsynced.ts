/**
 * What a folder holds that its passes cannot sync, for the status (E_NOT_SYNCED): a name the
 * layer refuses (`draft.`, `aux.c`, one that is not UTF-8), a special file (a FIFO, a socket), an
 * entry it cannot read. A scan says so only when it looks at the entry, and a pass scans only what
 * changed, so the entries are remembered across passes: the status must keep saying that a file
 * is not in the layer until a scan reads it or it is gone from the disk (renamed, deleted).
 *
 * Paths too long to read or to lay have their own warning (E_PATH_TOO_LONG) and are not kept here.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { TOO_LONG_HERE } from '../exec/index.js';
import { parentOf } from '../plan/nodes.js';
import { TOO_LONG } from '../snapshot/listing.js';

export class Unsynced {
  /** path → why it is not synced, oldest first. */
  private readonly entries = new Map<string, string>();

  constructor(private readonly root: string) {}

  /** The first entry not synced and why, and how many there are; undefined when none. */
  get first(): { path: string; why: string; count: number } | undefined {
    const [e] = this.entries;
    return e === undefined ? undefined : { path: e[0], why: e[1], count: this.entries.size };
  }

  /**
   * Takes in a pass's scan (`skipped`), then forgets the entries it no longer finds a problem
   * with: those `read` (the local tree now holds them) and those gone from their folder.
   */
  async update(skipped: ReadonlyMap<string, string>, read: (path: string) => boolean): Promise<void> {
    for (const [p, why] of skipped) {
      if (why === TOO_LONG || why.startsWith(TOO_LONG_HERE)) continue;
      this.entries.set(p, why);
    }
    const listed = new Map<string, Promise<Set<string> | undefined>>();
    for (const p of [...this.entries.keys()]) {
      if (skipped.has(p)) continue;
      if (read(p)) {
        this.entries.delete(p);
        continue;
      }
      const dir = parentOf(p);
      if (!listed.has(dir)) listed.set(dir, this.names(dir));
      const names = await listed.get(dir)!;
      if (names !== undefined && !names.has(p.slice(dir === '' ? 0 : dir.length + 1))) this.entries.delete(p);
    }
  }

  /**
   * The names in a folder of the root as a scan decodes them (a name that is not UTF-8 with
   * U+FFFD, as it was remembered); an empty set when the folder is gone, undefined when it cannot
   * be read now (its entries are kept).
   */
  private async names(dir: string): Promise<Set<string> | undefined> {
    try {
      const raw = await readdir(join(this.root, dir), { encoding: 'buffer' });
      return new Set(raw.map((b) => b.toString('utf8')));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return code === 'ENOENT' || code === 'ENOTDIR' ? new Set() : undefined;
    }
  }
}
