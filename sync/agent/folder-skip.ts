/**
 * The paths a synced folder's passes (folder.ts) leave alone for now, and why: those the executor
 * could not write (a lock, permissions), for BLOCKED_MS, and those too long to lay under this root,
 * for good. A pass's scan is told of them, so the rest of the folder syncs, both ways (carry.ts),
 * and the disk is recorded as lagging the head there.
 */
import { TOO_LONG_HERE } from '../exec/index.js';
import type { Node } from '../plan/index.js';
import { parentOf } from '../plan/nodes.js';
import type { ScanResult } from './local.js';

/** How long passes leave alone a path the executor could not write. */
export const BLOCKED_MS = 60_000;

export class LeftAlone {
  /** Paths the executor could not write (a lock, permissions): until when passes leave them alone, and why. */
  private readonly blocked = new Map<string, { until: number; why: string }>();
  /** The topmost paths the last full pass found too long to lay under this root (skipTooLong), and why. */
  private readonly unlaid = new Map<string, string>();

  /**
   * The paths passes leave alone for now, and why: those the executor could not write, which the
   * last pass's scan was told of (skipBlocked) or its apply found, or found again; and those too
   * long to lay here, as the last full pass found them (an idle poll does not look again).
   */
  get all(): ReadonlyMap<string, string> {
    return new Map([...this.unlaid, ...[...this.blocked].map(([p, b]): [string, string] => [p, b.why])]);
  }

  /** The paths an apply could not write, at `now` (ms), and why: left alone for BLOCKED_MS. */
  block(paths: Iterable<[string, string]>, now: number): void {
    const until = now + BLOCKED_MS;
    for (const [p, why] of paths) this.blocked.set(p, { until, why });
  }

  /**
   * A path the executor could not write is, for BLOCKED_MS, like one the scan could not read: the
   * pass leaves it alone and the rest of the folder syncs, both ways (carry.ts); the disk lags the
   * head there meanwhile, recorded as such (see SyncFolder.reconcile). Then a pass tries it again.
   */
  skipBlocked(scan: ScanResult, now: number): void {
    for (const [p, b] of this.blocked) {
      if (b.until <= now) this.blocked.delete(p);
      else if (!scan.skipped.has(p)) scan.skipped.set(p, `${b.why}; tried again after a while`);
    }
    if (this.blocked.size > 0) scan.unwritten = new Set(this.blocked.keys());
  }

  /**
   * A path of the merged tree too long to be laid under this root (another machine's is higher
   * up) is left alone like one the executor could not write, for good: never tried, never taken
   * for deleted (carried from this device's head, which a sign-in may have made name it), and the
   * disk recorded as lagging there, so that a root moved higher up lays it. The topmost such paths
   * are named in the scan, for the status (runtime.ts) and the lag (lagsAt).
   */
  skipTooLong(scan: ScanResult, effective: ReadonlyMap<string, Node>, tooLong: (path: string) => boolean): void {
    this.unlaid.clear();
    for (const [p, n] of effective) {
      if (n.type === 'whiteout' || !tooLong(p) || tooLong(parentOf(p))) continue;
      // Named whatever the scan says of it (a scan a pass took over may name it already): an idle
      // poll's status has only this list to go by.
      this.unlaid.set(p, TOO_LONG_HERE);
      if (!scan.skipped.has(p)) scan.skipped.set(p, TOO_LONG_HERE);
    }
  }
}
