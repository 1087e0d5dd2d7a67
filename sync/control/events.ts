/**
 * Agent events as Server-Sent Events: one `data:` line of JSON per event (JSON.stringify never
 * emits a raw newline, so one line always suffices), comment lines as heartbeats. Both ends are
 * here: the server's stream and the client's parser.
 *
 * Must hold: a reader that falls behind gets fewer, newer statuses, not a cut stream. What it has
 * not taken yet waits in its own queue (EventQueue), where a status that changed only progress
 * figures replaces the one before it; every other event keeps its place and its order.
 */
import type { ServerResponse } from 'node:http';
import type { AgentApi, AgentEvent, AgentStatus } from '../../shared/agent-api.js';

/**
 * A consumer that lets this much pile up unread, once progress statuses are coalesced, is cut
 * off; it reconnects and gets the current status.
 */
export const MAX_BUFFERED_BYTES = 1 << 20;
/** Keeps idle connections from being dropped by anything in between, and finds dead consumers. */
export const HEARTBEAT_MS = 15_000;

/**
 * Streams the agent's events to `res` until the client goes away or `res` is ended. The stream
 * opens with the current status, so a client never has to ask for it, unless the agent pushed a
 * status first (which is at least as new).
 */
export function streamEvents(api: AgentApi, res: ServerResponse): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    connection: 'keep-alive',
  });
  res.write(': strata agent events\n\n');
  let open = true;
  let sawStatus = false;
  const queue = new EventQueue();
  // Writes what is queued while the socket takes it; the rest waits for 'drain'.
  const pump = (): void => {
    for (let text = queue.peek(); open && text !== undefined && !res.writableNeedDrain; text = queue.peek()) {
      queue.shift();
      res.write(text);
    }
  };
  const send = (event: AgentEvent): void => {
    if (!open) return;
    if (event.type === 'status') sawStatus = true;
    queue.push(event);
    if (queue.bytes + res.writableLength > MAX_BUFFERED_BYTES) {
      res.destroy();
      return;
    }
    pump();
  };
  const unsubscribe = api.subscribe(send);
  const heartbeat = setInterval(() => {
    // A stream that is sending, or waiting to, needs no heartbeat.
    if (open && queue.peek() === undefined && !res.writableNeedDrain) res.write(': \n\n');
  }, HEARTBEAT_MS);
  res.on('drain', pump);
  res.on('close', () => {
    open = false;
    clearInterval(heartbeat);
    unsubscribe();
  });
  api.call('status', {}).then(
    (status) => {
      if (!sawStatus) send({ type: 'status', status });
    },
    // The agent reports its own failures in the statuses it pushes; a stream without a first
    // status is still a working stream.
    () => undefined,
  );
}

/** A status as the UI reads it apart from progress figures: two statuses with the same key differ only in those. */
function statusKey(status: AgentStatus): string {
  return JSON.stringify({ ...status, folders: status.folders.map(({ progress: _, ...rest }) => rest) });
}

/**
 * The events one stream has yet to write, as SSE text. A status whose key (statusKey) is that of
 * the status queued last, with nothing queued after it, replaces it: the newer figures win, and
 * the statuses are full ones (shared/agent-api.ts), so none is lost by skipping one. Every other
 * event is appended: a change of state, an error, a held delete, a conflict keep their order.
 */
export class EventQueue {
  private readonly items: Array<{ text: string; size: number; key?: string }> = [];
  private head = 0;
  /** Bytes of SSE text queued. */
  bytes = 0;

  push(event: AgentEvent): void {
    const text = `data: ${JSON.stringify(event)}\n\n`;
    const size = Buffer.byteLength(text);
    const key = event.type === 'status' ? statusKey(event.status) : undefined;
    const last = this.items.length > this.head ? this.items[this.items.length - 1] : undefined;
    if (key !== undefined && last?.key === key) {
      this.bytes += size - last.size;
      last.text = text;
      last.size = size;
      return;
    }
    this.items.push({ text, size, key });
    this.bytes += size;
  }

  /** The next text to write, left queued. */
  peek(): string | undefined {
    return this.items[this.head]?.text;
  }

  shift(): void {
    const item = this.items[this.head];
    if (item === undefined) return;
    this.bytes -= item.size;
    this.head++;
    // What was written goes once it is half the array (each event moved at most once per event
    // taken): a reader that stays a little behind, the queue never empty, must not hold the rest
    // of the stream in memory, which MAX_BUFFERED_BYTES does not count.
    if (this.head * 2 >= this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
  }
}

/** Splits an SSE byte stream (as text) into the payloads of its events. */
export class SseParser {
  private buffer = '';
  private data: string[] = [];

  /** Feeds a chunk; returns the data of every event it completed. */
  push(chunk: string): string[] {
    this.buffer += chunk;
    const out: string[] = [];
    let nl: number;
    while ((nl = this.buffer.search(/\r\n|\r|\n/)) !== -1) {
      // A lone \r at the end of a chunk may be the first half of \r\n: wait for the next chunk.
      if (this.buffer[nl] === '\r' && nl === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + (this.buffer.startsWith('\r\n', nl) ? 2 : 1));
      if (line === '') {
        if (this.data.length > 0) out.push(this.data.join('\n'));
        this.data = [];
      } else if (line.startsWith('data:')) {
        this.data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
      }
      // Comments (":…") and the fields this stream never sends (event, id, retry) are skipped.
    }
    return out;
  }
}
