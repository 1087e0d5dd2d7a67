/**
 * EventQueue: how the watcher learns that the OS may have dropped events.
 *
 * inotify keeps at most fs.inotify.max_queued_events unread events (16,384 by default) per
 * instance, and Node has one instance per process. Past that the kernel drops every further event
 * and queues IN_Q_OVERFLOW, which libuv throws away (its watch descriptor, -1, names no watcher):
 * Node never says that changes were lost. What Node does show: libuv reads the queue until it is
 * empty before the event loop goes on, so the events of one read all come before the next
 * setImmediate. A read of nearly as many events as the queue holds is taken for an overflow.
 *
 * What must hold:
 * - a read that reaches `threshold` events tells every subscriber, once for that read: the queue
 *   is the whole process's, so a burst in one folder may have cost any watched folder its events;
 * - a false alarm (as large a read, nothing lost) costs only a rescan, so the threshold stays below
 *   the queue's size: events of watches closed during the burst are never read, nor counted.
 */
import { readFileSync } from 'node:fs';

/** inotify's default queue size, for a system that does not say its own. */
const DEFAULT_QUEUED_EVENTS = 16_384;

export class EventQueue {
  /** Events read since the event loop last went round: those of the current read. */
  protected inRead = 0;
  private readonly subscribers = new Set<() => void>();

  /** `size`: the events the OS queue holds at most (maxQueuedEvents()). */
  constructor(readonly size: number) {}

  /** A read of this many events may have overflowed the queue: three quarters of its size. */
  get threshold(): number {
    return Math.max(1, Math.ceil((this.size * 3) / 4));
  }

  /**
   * Counts one event read from the queue. False: the event was lost instead (never from the OS's
   * queue, whose losses happen before the read; a test's queue loses events as an overflow would).
   */
  take(): boolean {
    if (this.inRead++ === 0) setImmediate(() => (this.inRead = 0));
    if (this.inRead === this.threshold) for (const s of [...this.subscribers]) s();
    return true;
  }

  /** Calls `onOverflow` after each read that may have overflowed the queue, until the returned function is called. */
  subscribe(onOverflow: () => void): () => void {
    const s = (): void => onOverflow();
    this.subscribers.add(s);
    return () => this.subscribers.delete(s);
  }
}

let processQueue: EventQueue | undefined;

/** The queue of this process's inotify instance, which every directory watch shares. */
export function osEventQueue(): EventQueue {
  return (processQueue ??= new EventQueue(maxQueuedEvents()));
}

/** fs.inotify.max_queued_events, or inotify's default where it cannot be read. */
export function maxQueuedEvents(file = '/proc/sys/fs/inotify/max_queued_events'): number {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isSafeInteger(n) && n > 0 ? n : DEFAULT_QUEUED_EVENTS;
  } catch {
    return DEFAULT_QUEUED_EVENTS;
  }
}
