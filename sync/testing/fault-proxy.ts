/**
 * FaultProxy: an HTTP proxy in front of a real S3 server that misbehaves when told to, for tests
 * of how the S3 store and everything above it cope with a bad network and a bad server. Not used
 * by production code.
 *
 * Point an S3Store's endpoint at `proxy.endpoint`. Requests pass through unchanged (headers too,
 * so signatures still hold) until a fault is queued with `inject`: each fault applies to the next
 * `times` requests its `match` accepts (default: any), in the order faults were queued.
 *
 * What must hold: a fault happens exactly where it says (after exactly `afterBytes` bytes of the
 * body), so a test knows what the client saw; `close` ends every connection, stalled ones too.
 */
import { request as httpRequest, createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export type Fault =
  /** Answer with an S3 error document (e.g. 503 SlowDown), never reaching the server. */
  | { kind: 'status'; status: number; code: string }
  /** Never answer (no afterBytes), or send the headers and afterBytes of the body, then nothing. */
  | { kind: 'stall'; afterBytes?: number }
  /** Send the headers and afterBytes of the body, then reset the connection (RST). */
  | { kind: 'reset'; afterBytes: number }
  /** Send the headers (the whole Content-Length) and afterBytes of the body, then close (FIN). */
  | { kind: 'truncate'; afterBytes: number }
  /** Send the answer's body `bytes` at a time, one piece every `everyMs`: a slow link, or one that never quite stalls. */
  | { kind: 'trickle'; bytes: number; everyMs: number }
  /** Wait ms before the first byte of the answer. */
  | { kind: 'delay'; ms: number }
  /** Take afterBytes of the request's body, then reset the connection: a PUT cut off mid-body. */
  | { kind: 'cutRequest'; afterBytes: number }
  /** Answer what `alter` makes of the server's whole answer; Content-Length is the new body's unless alter sets one. */
  | { kind: 'alter'; alter: (answer: Answer) => Answer };

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export type Match = (req: IncomingMessage) => boolean;

/** Requests of a method whose path holds `key` (any key when omitted). */
export function requests(method: string, key?: string): Match {
  return (req) => req.method === method && (key === undefined || (req.url ?? '').split('?')[0]!.endsWith(`/${key}`));
}

/** Ranged GETs. */
export const rangedGet: Match = (req) => req.method === 'GET' && req.headers.range !== undefined;

interface Queued {
  fault: Fault;
  match: Match;
  left: number;
}

export class FaultProxy {
  /** Every request seen, as `METHOD path` plus the fault applied (`GET /b/k stall`). */
  readonly seen: string[] = [];
  private readonly queue: Queued[] = [];
  private readonly sockets = new Set<Socket>();
  private open = 0;
  private readonly idleWaiters: (() => void)[] = [];
  /** Body bytes passed on so far, headers not counted: of requests to the server, of answers to the client. */
  readonly bytes = { up: 0, down: 0 };

  private constructor(
    private readonly server: Server,
    private readonly upstream: URL,
    readonly endpoint: string,
  ) {}

  static async start(upstream: string): Promise<FaultProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (!address || typeof address !== 'object') throw new Error('the fault proxy has no address');
    const proxy = new FaultProxy(server, new URL(upstream), `http://127.0.0.1:${address.port}`);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => proxy.handle(req, res));
    server.on('connection', (socket: Socket) => {
      proxy.sockets.add(socket);
      socket.on('close', () => proxy.sockets.delete(socket));
    });
    return proxy;
  }

  inject(fault: Fault, opts: { match?: Match; times?: number } = {}): void {
    this.queue.push({ fault, match: opts.match ?? (() => true), left: opts.times ?? 1 });
  }

  /** Forget every fault still queued. */
  clear(): void {
    this.queue.length = 0;
  }

  /** Requests whose answer has not ended nor been cut off: a stalled one stays in flight until the client gives up. */
  get inFlight(): number {
    return this.open;
  }

  /**
   * Resolves once no request is in flight (at once when none is): the event itself, with no time
   * limit of its own, so that a test process stalled by a loaded machine cannot miss it.
   */
  idle(): Promise<void> {
    if (this.open === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Faults still queued, times left counted. */
  get pending(): number {
    return this.queue.reduce((n, q) => n + q.left, 0);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private take(req: IncomingMessage): Fault | undefined {
    const i = this.queue.findIndex((q) => q.match(req));
    if (i < 0) return undefined;
    const q = this.queue[i] as Queued;
    if (--q.left === 0) this.queue.splice(i, 1);
    return q.fault;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const fault = this.take(req);
    this.seen.push(`${req.method} ${req.url}${fault ? ` ${fault.kind}` : ''}`);
    res.on('error', () => {});
    this.open++;
    res.on('close', () => {
      if (--this.open === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    });
    // Bytes count once written to a connection still open (a closed one takes nothing).
    const write = res.write.bind(res) as (chunk: unknown, ...rest: unknown[]) => boolean;
    res.write = ((chunk: unknown, ...rest: unknown[]) => {
      if (!res.closed && (chunk instanceof Uint8Array || typeof chunk === 'string')) this.bytes.down += Buffer.byteLength(chunk);
      return write(chunk, ...rest);
    }) as typeof res.write;
    if (fault?.kind === 'status') {
      req.resume();
      req.on('end', () => {
        res.writeHead(fault.status, { 'content-type': 'application/xml' });
        res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${fault.code}</Code><Message>injected by the test proxy</Message></Error>`);
      });
      return;
    }
    if (fault?.kind === 'stall' && fault.afterBytes === undefined) {
      req.resume();
      return;
    }
    // Expect is never signed; dropping it spares the proxy the 100-continue dance.
    const headers = { ...req.headers };
    delete headers.expect;
    req.on('data', (chunk: Buffer) => (this.bytes.up += chunk.length));
    const up = httpRequest({ host: this.upstream.hostname, port: this.upstream.port, method: req.method, path: req.url, headers, agent: false });
    up.on('error', () => res.socket?.destroy());
    req.on('error', () => up.destroy());
    if (fault?.kind === 'cutRequest') {
      let taken = 0;
      req.on('data', (chunk: Buffer) => {
        const room = fault.afterBytes - taken;
        if (room <= 0) return;
        up.write(chunk.subarray(0, room));
        taken += chunk.length;
        if (taken >= fault.afterBytes) {
          up.destroy();
          req.socket.resetAndDestroy();
        }
      });
    } else {
      req.pipe(up);
    }
    up.on('response', (answer) => void this.respond(fault, answer, res).catch(() => res.socket?.destroy()));
  }

  private async respond(fault: Fault | undefined, answer: IncomingMessage, res: ServerResponse): Promise<void> {
    const status = answer.statusCode ?? 502;
    if (fault?.kind === 'alter') {
      const altered = fault.alter({ status, headers: { ...answer.headers }, body: await bytesOf(answer, Infinity) });
      const headers = { ...altered.headers, 'content-length': altered.headers['content-length'] ?? String(altered.body.length) };
      delete headers['transfer-encoding'];
      res.writeHead(altered.status, headers);
      res.end(altered.body);
      return;
    }
    if (fault?.kind === 'delay') await new Promise((resolve) => setTimeout(resolve, fault.ms));
    if (fault?.kind === 'trickle') {
      res.writeHead(status, answer.headers);
      for await (const chunk of answer) {
        for (let at = 0; at < (chunk as Buffer).length && !res.closed; at += fault.bytes) {
          await new Promise((resolve) => setTimeout(resolve, fault.everyMs));
          res.write((chunk as Buffer).subarray(at, at + fault.bytes));
        }
        if (res.closed) break;
      }
      answer.destroy();
      res.end();
      return;
    }
    if (fault?.kind !== 'stall' && fault?.kind !== 'reset' && fault?.kind !== 'truncate') {
      res.writeHead(status, answer.headers);
      answer.pipe(res);
      return;
    }
    const first = await bytesOf(answer, fault.afterBytes ?? 0);
    answer.destroy();
    res.writeHead(status, answer.headers);
    res.write(first);
    const socket = res.socket as Socket;
    if (fault.kind === 'reset') socket.write('', () => socket.resetAndDestroy());
    else if (fault.kind === 'truncate') socket.end();
    // A stall writes nothing more and keeps the connection open until close().
  }
}

/** The first `n` bytes of a stream (fewer if it ends first). */
async function bytesOf(stream: IncomingMessage, n: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let got = 0;
  for await (const chunk of stream) {
    parts.push(chunk as Buffer);
    got += (chunk as Buffer).length;
    if (got >= n) break;
  }
  return Buffer.concat(parts).subarray(0, n);
}
