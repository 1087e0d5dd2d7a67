/**
 * The control endpoint: the Agent API over HTTP on loopback, guarded by Host, Origin and token
 * (guard.ts), announced to same-user clients through control.json (file.ts).
 *
 *   POST /api/<command>  JSON argument → JSON result (200) or {error: {code, message, path?, key?}}
 *   GET  /api/events     Server-Sent Events of AgentEvent; the token may come as ?token=…
 *   GET  /, /ui/…        the UI (ui.ts): public files, behind the Host and Origin checks only
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isCommandName, parseCommand, type AgentApi, type ApiError } from '../../shared/agent-api.js';
import { StrataError, describeError } from '../errors.js';
import { streamEvents } from './events.js';
import { prepareStateDir, readControlFile, removeControlFile, writeControlFile } from './file.js';
import { bearerToken, checkHost, checkOrigin, checkToken, selfOf, type Refusal, type Self } from './guard.js';
import { probeControl } from './client.js';
import { serveUi } from './ui.js';

export const MAX_BODY_BYTES = 64 * 1024;

export interface ServeOptions {
  stateDir: string;
  /** A loopback IP: 127.0.0.1 (the default) or ::1. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
}

export interface ControlServer {
  url: string;
  token: string;
  /** Ends every event stream, stops listening and removes control.json if it is still ours. */
  close(): Promise<void>;
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };

function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { ...JSON_HEADERS, 'content-length': String(Buffer.byteLength(body)), ...headers });
  res.end(body);
}

function sendError(res: ServerResponse, status: number, error: ApiError, headers: Record<string, string> = {}): void {
  sendJson(res, status, { error }, headers);
}

function refuse(res: ServerResponse, r: Refusal, headers: Record<string, string> = {}): void {
  sendError(res, r.status, { code: r.code, message: r.message }, headers);
}

/** What an agent failure looks like to a client: its code, message and where, never a stack. */
export function apiError(err: unknown): ApiError {
  if (err instanceof StrataError) {
    return { code: err.code, message: err.message, ...(err.path !== undefined ? { path: err.path } : {}), ...(err.key !== undefined ? { key: err.key } : {}) };
  }
  return { code: 'E_AGENT_INTERNAL', message: describeError(err) };
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

async function handleCommand(api: AgentApi, name: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const text = await readBody(req, MAX_BODY_BYTES);
  if (text === undefined) {
    sendError(res, 413, { code: 'E_CONTROL_TOO_LARGE', message: `the request body must be at most ${MAX_BODY_BYTES} bytes` }, { connection: 'close' });
    return;
  }
  if (text !== '' && !/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
    sendError(res, 415, { code: 'E_CONTROL_MEDIA_TYPE', message: 'the request body must be application/json' });
    return;
  }
  if (!isCommandName(name)) {
    sendError(res, 400, { code: 'E_CONTROL_BAD_COMMAND', message: `unknown command ${JSON.stringify(name)}` });
    return;
  }
  let parsed: ReturnType<typeof parseCommand>;
  try {
    parsed = parseCommand(name, text === '' ? undefined : JSON.parse(text));
  } catch (err) {
    const code = err instanceof SyntaxError ? 'E_CONTROL_BAD_JSON' : 'E_CONTROL_BAD_ARG';
    sendError(res, 400, { code, message: describeError(err) });
    return;
  }
  let result: unknown;
  try {
    result = await api.call(parsed.command, parsed.arg as never);
  } catch (err) {
    sendError(res, 500, apiError(err));
    return;
  }
  sendJson(res, 200, result ?? null);
}

/** Every check, then the route. Nothing is read from the body before the token has been checked. */
function handler(api: AgentApi, token: string, self: () => Self, streams: Set<ServerResponse>) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const refusal = checkHost(req.headers.host, self()) ?? checkOrigin(req.headers.origin, header(req, 'sec-fetch-site'), self());
    if (refusal) return refuse(res, refusal);
    const [path = '', query = ''] = (req.url ?? '').split('?', 2);
    if (serveUi(req.method, path, res)) return;
    const isEvents = path === '/api/events';
    const given = bearerToken(req.headers.authorization) ?? (isEvents ? (new URLSearchParams(query).get('token') ?? undefined) : undefined);
    const denied = checkToken(given, token);
    if (denied) return refuse(res, denied, { 'www-authenticate': 'Bearer' });
    if (isEvents) {
      if (req.method !== 'GET') return sendError(res, 405, { code: 'E_CONTROL_METHOD', message: 'use GET for /api/events' }, { allow: 'GET' });
      streams.add(res);
      res.on('close', () => streams.delete(res));
      return streamEvents(api, res);
    }
    const m = /^\/api\/([^/]*)$/.exec(path);
    if (!m) return sendError(res, 404, { code: 'E_CONTROL_NOT_FOUND', message: `no such endpoint ${JSON.stringify(path)}` });
    if (req.method !== 'POST') return sendError(res, 405, { code: 'E_CONTROL_METHOD', message: 'use POST for commands' }, { allow: 'POST' });
    await handleCommand(api, m[1] ?? '', req, res);
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * Serves `api` on loopback and writes control.json. Refuses (E_AGENT_ALREADY_RUNNING) when the
 * state dir's control.json names an endpoint that still answers: one agent per state dir.
 */
export async function serveControl(api: AgentApi, options: ServeOptions): Promise<ControlServer> {
  const { stateDir, host = '127.0.0.1', port = 0 } = options;
  if (host !== '127.0.0.1' && host !== '::1') throw new StrataError('E_CONTROL_HOST', `the control endpoint must listen on loopback (127.0.0.1 or ::1), not ${host}`);
  await prepareStateDir(stateDir);
  const existing = await readControlFile(stateDir).catch(() => undefined);
  if (existing && (await probeControl(existing))) {
    throw new StrataError('E_AGENT_ALREADY_RUNNING', `an agent (pid ${existing.pid}) already serves this state dir at ${existing.url}`, { path: stateDir });
  }
  const token = randomBytes(32).toString('base64url');
  const streams = new Set<ServerResponse>();
  let self: Self = selfOf(host, port);
  const handle = handler(api, token, () => self, streams);
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, 500, apiError(err));
      else res.destroy();
    });
  });
  const actualPort = await listen(server, host, port);
  self = selfOf(host, actualPort);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await removeControlFile(stateDir, token);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const res of streams) res.end();
      server.closeAllConnections();
      await closed;
    })());
  try {
    await writeControlFile(stateDir, { url, token, pid: process.pid });
  } catch (err) {
    await close();
    throw err;
  }
  return { url, token, close };
}
