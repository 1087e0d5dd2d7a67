/**
 * LossyQueue: an EventQueue (sync/watch/queue.ts) that loses events as an overflowing inotify
 * queue of `size` events would: of each read, the events past the first `size` never reach the
 * watcher. Lets a test overflow a tiny queue without changing fs.inotify.max_queued_events.
 */
import { EventQueue } from '../watch/queue.js';

export class LossyQueue extends EventQueue {
  /** Events the queue lost so far. */
  lost = 0;

  override take(): boolean {
    super.take();
    if (this.inRead <= this.size) return true;
    this.lost++;
    return false;
  }
}
