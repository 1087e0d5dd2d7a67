/**
 * The control endpoint: the Agent API over HTTP on loopback, guarded by Host, Origin and token
 * (guard.ts), announced to same-user clients through control.json (file.ts).
 *
 *   POST /api/<command>  JSON argument → JSON result (200) or {error: {code, message, path?, key?}},
 *                        with a status by the code (errorStatus)
 *   GET  /api/events     Server-Sent Events of AgentEvent; the token may come as ?token=…
 *   GET  /, /ui/…        the UI (ui.ts): public files, behind the Host and Origin checks only
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isCommandName, parseCommand, type AgentApi } from '../../shared/agent-api.js';
import { StrataError, describeError } from '../errors.js';
import { streamEvents } from './events.js';
import { prepareStateDir, readControlFile, removeControlFile, writeControlFile } from './file.js';
import { bearerToken, checkHost, checkOrigin, checkToken, selfOf, type Self } from './guard.js';
import { apiError, checkLoopback, errorStatus, header, listenLoopback, readJson, refuse, sendError, sendJson, urlOf } from './http.js';
import { probeAgent } from './client.js';
import { serveUi } from './ui.js';

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

async function handleCommand(api: AgentApi, name: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readJson(req, res);
  if (body === undefined) return;
  if (!isCommandName(name)) return sendError(res, 400, { code: 'E_CONTROL_BAD_COMMAND', message: `unknown command ${JSON.stringify(name)}` });
  let parsed: ReturnType<typeof parseCommand>;
  try {
    parsed = parseCommand(name, body.value);
  } catch (err) {
    return sendError(res, 400, { code: 'E_CONTROL_BAD_ARG', message: describeError(err) });
  }
  let result: unknown;
  try {
    result = await api.call(parsed.command, parsed.arg as never);
  } catch (err) {
    return sendError(res, errorStatus(err), apiError(err));
  }
  sendJson(res, 200, result ?? null);
}

/** Every check, then the route. Nothing is read from the body before the token has been checked. */
function handler(api: AgentApi, token: string, self: () => Self, streams: Set<ServerResponse>) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const refusal = checkHost(req.headersDistinct.host, self()) ?? checkOrigin(req.headers.origin, header(req, 'sec-fetch-site'), self());
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

/**
 * Refuses when the state dir's control.json names an agent that still runs: one agent per state
 * dir. E_AGENT_ALREADY_RUNNING when its endpoint answers; E_AGENT_NOT_ANSWERING when its pid lives
 * and its endpoint takes the connection but gives no answer (stopped, or too busy): it may write
 * the device head, the stat cache and the journals again at any moment. A command that syncs a
 * state dir must ask this before it touches the state dir, the folder or the bucket; serveControl
 * asking again at the end is too late.
 */
export async function refuseRunningAgent(stateDir: string): Promise<void> {
  const existing = await readControlFile(stateDir).catch(() => undefined);
  const agent = existing ? await probeAgent(existing) : 'gone';
  if (existing && agent === 'answers') {
    throw new StrataError('E_AGENT_ALREADY_RUNNING', `an agent (pid ${existing.pid}) already serves this state dir at ${existing.url}; stop it first, or ask it for a pass (strata sync-now)`, { path: stateDir });
  }
  if (existing && agent === 'silent') {
    throw new StrataError(
      'E_AGENT_NOT_ANSWERING',
      `an agent (pid ${existing.pid}) serves this state dir but does not answer at ${existing.url} (stopped, or busy); try again, or stop it first (if pid ${existing.pid} is not Strata, remove control.json from the state dir)`,
      { path: stateDir },
    );
  }
}

/** Serves `api` on loopback and writes control.json; refuses a state dir another agent serves (refuseRunningAgent). */
export async function serveControl(api: AgentApi, options: ServeOptions): Promise<ControlServer> {
  const { stateDir, host = '127.0.0.1', port = 0 } = options;
  checkLoopback(host);
  await prepareStateDir(stateDir);
  await refuseRunningAgent(stateDir);
  const token = randomBytes(32).toString('base64url');
  const streams = new Set<ServerResponse>();
  let self: Self = selfOf(host, port);
  const handle = handler(api, token, () => self, streams);
  const { server, port: actualPort } = await listenLoopback(handle, host, port);
  self = selfOf(host, actualPort);
  const url = urlOf(host, actualPort);
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
