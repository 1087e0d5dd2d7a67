/**
 * Agent events as Server-Sent Events: one `data:` line of JSON per event (JSON.stringify never
 * emits a raw newline, so one line always suffices), comment lines as heartbeats. Both ends are
 * here: the server's stream and the client's parser.
 */
import type { ServerResponse } from 'node:http';
import type { AgentApi, AgentEvent } from '../../shared/agent-api.js';

/** A consumer that lets this much pile up unread is cut off; it reconnects and gets the current status. */
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
  const write = (text: string): void => {
    if (!open) return;
    if (res.writableLength > MAX_BUFFERED_BYTES) {
      res.destroy();
      return;
    }
    res.write(text);
  };
  const send = (event: AgentEvent): void => {
    if (event.type === 'status') sawStatus = true;
    write(`data: ${JSON.stringify(event)}\n\n`);
  };
  const unsubscribe = api.subscribe(send);
  const heartbeat = setInterval(() => write(': \n\n'), HEARTBEAT_MS);
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
