/**
 * What the loopback endpoints (the agent's control endpoint, server.ts, and the desktop app's
 * sign-in screen, signin-server.ts) share: JSON answers and errors, a bounded JSON body, listening
 * on loopback only.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApiError } from '../../shared/agent-api.js';
import { asReported, describeError, StrataError } from '../errors.js';
import type { Refusal } from './guard.js';

export const MAX_BODY_BYTES = 64 * 1024;

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { ...JSON_HEADERS, 'content-length': String(Buffer.byteLength(body)), ...headers });
  res.end(body);
}

export function sendError(res: ServerResponse, status: number, error: ApiError, headers: Record<string, string> = {}): void {
  sendJson(res, status, { error }, headers);
}

export function refuse(res: ServerResponse, r: Refusal, headers: Record<string, string> = {}): void {
  sendError(res, r.status, { code: r.code, message: r.message }, headers);
}

/** What a failure looks like to a client: its code, message and where, never a stack. */
export function apiError(err: unknown): ApiError {
  // A failed system call (the disk full, say) is the user's to act on; only a bug is internal.
  const e = asReported(err);
  if (e !== undefined) return { code: e.code, message: e.message, ...(e.path !== undefined ? { path: e.path } : {}), ...(e.key !== undefined ? { key: e.key } : {}) };
  return { code: 'E_AGENT_INTERNAL', message: describeError(err) };
}

/**
 * The status a failure answers with, by its code: the request was wrong (400), named something the
 * agent does not have (404), or no longer fits what the agent has (409). Any other code, and
 * anything thrown that is not a StrataError, is the agent's own failure (500).
 */
const STATUS_BY_CODE: ReadonlyMap<string, number> = new Map([
  ['E_USAGE', 400],
  ['E_NO_FOLDER', 404],
  ['E_NO_CONFLICT', 404],
  ['E_CONFLICT_GONE', 409],
  ['E_VERSION_GONE', 409],
  ['E_NOT_HELD', 409],
  ['E_HOLD_CHANGED', 409],
]);

export function errorStatus(err: unknown): number {
  return (err instanceof StrataError && STATUS_BY_CODE.get(err.code)) || 500;
}

/** The body as text, or undefined once it passed `limit` (the rest is read and dropped). */
function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > limit) {
      req.resume();
      resolve(undefined);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        chunks.length = 0;
        resolve(undefined);
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * The request's JSON body — `{ value: undefined }` when it is empty — or undefined when it was
 * refused (too large, not application/json, not JSON), in which case the answer has been sent.
 */
export async function readJson(req: IncomingMessage, res: ServerResponse): Promise<{ value: unknown } | undefined> {
  const text = await readBody(req, MAX_BODY_BYTES);
  if (text === undefined) {
    sendError(res, 413, { code: 'E_CONTROL_TOO_LARGE', message: `the request body must be at most ${MAX_BODY_BYTES} bytes` }, { connection: 'close' });
    return undefined;
  }
  if (text === '') return { value: undefined };
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
    sendError(res, 415, { code: 'E_CONTROL_MEDIA_TYPE', message: 'the request body must be application/json' });
    return undefined;
  }
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (err) {
    sendError(res, 400, { code: 'E_CONTROL_BAD_JSON', message: describeError(err) });
    return undefined;
  }
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** Loopback only: 127.0.0.1 or ::1. */
export function checkLoopback(host: string): void {
  if (host !== '127.0.0.1' && host !== '::1') throw new StrataError('E_CONTROL_HOST', `a Strata endpoint (the agent's, the sign-in screen's) must listen on loopback (127.0.0.1 or ::1), not ${host}`);
}

export function urlOf(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * What a server holds for the programs that connect to it. Any program on this machine may connect
 * (the token is checked only once a request is in), so none may hold sockets without bound: the
 * agent would run out of file handles for the files it syncs. The cap is far above what the CLI,
 * the app's window and a few browser tabs of the UI use at once (each holds one event stream).
 */
export interface ConnectionLimits {
  /** Connections open at once; one more is closed as it comes. */
  maxConnections: number;
  /** A connection that sends no request for this long is closed. */
  idleMs: number;
  /** The whole header of a request must come within this, */
  headersMs: number;
  /** and the whole request (its body too) within this. */
  requestMs: number;
}

export const CONNECTION_LIMITS: ConnectionLimits = { maxConnections: 128, idleMs: 10_000, headersMs: 10_000, requestMs: 30_000 };

/**
 * A server on `host` (loopback, checked) that answers with `handle`, within CONNECTION_LIMITS; a handler that throws answers
 * 500 with the error (or drops a response already under way). Resolves with its port.
 */
export async function listenLoopback(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  host: string,
  port: number,
  limits: Partial<ConnectionLimits> = {},
): Promise<{ server: Server; port: number }> {
  const { maxConnections, idleMs, headersMs, requestMs } = { ...CONNECTION_LIMITS, ...limits };
  checkLoopback(host);
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, 500, apiError(err));
      else res.destroy();
    });
  });
  server.maxConnections = maxConnections;
  server.headersTimeout = headersMs;
  server.requestTimeout = requestMs;
  // Node closes a connection whose request is slow to come, but not one that sends nothing at all.
  // Once a request is in, the connection is not idle: an answer may take long (a command waits for
  // a pass), an event stream stays open; after it, keepAliveTimeout closes an idle one.
  server.on('connection', (socket) => socket.setTimeout(idleMs));
  server.on('request', (req: IncomingMessage) => req.socket.setTimeout(0));
  const actual = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
  return { server, port: actual };
}
