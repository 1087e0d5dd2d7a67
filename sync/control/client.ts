/**
 * The client side of the control endpoint: the Agent API of the agent whose control.json is in
 * a state dir, over loopback HTTP. Each call is one short-lived connection (no keep-alive pool),
 * so a CLI process that made calls exits as soon as it is done.
 */
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import type { AgentApi, AgentEvent, CommandArg, CommandName, CommandResult } from '../../shared/agent-api.js';
import { StrataError, describeError } from '../errors.js';
import { isErrno } from '../fsutil.js';
import { pidAlive } from '../temps.js';
import { HEARTBEAT_MS, SseParser } from './events.js';
import { controlFilePath, loopbackAddress, readControlFile, type ControlInfo } from './file.js';

export const DEFAULT_TIMEOUT_MS = 30_000;

export interface ClientOptions {
  /** How long a command may go without an answer (E_AGENT_TIMEOUT after). */
  timeoutMs?: number;
}

export { pidAlive } from '../temps.js';

export class ControlClient implements AgentApi {
  private readonly host: string;
  private readonly port: number;
  private readonly timeoutMs: number;

  constructor(
    readonly info: ControlInfo,
    /** control.json, named in errors. */
    readonly file: string,
    options: ClientOptions = {},
  ) {
    const address = loopbackAddress(info.url);
    if (!address) throw new StrataError('E_CONTROL_FILE', `url ${JSON.stringify(info.url)} is not a loopback http address`, { path: file });
    this.host = address.host;
    this.port = address.port;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async call<C extends CommandName>(command: C, arg: CommandArg<C>): Promise<CommandResult<C>> {
    const { status, text } = await this.post(`/api/${command}`, JSON.stringify(arg ?? {}));
    if (status !== 200) throw this.httpError(status, text);
    try {
      return JSON.parse(text) as CommandResult<C>;
    } catch {
      throw new StrataError('E_AGENT_PROTOCOL', `the answer to ${command} is not JSON`, { path: this.info.url });
    }
  }

  /**
   * Streams the agent's events, starting with its current status. `onError` hears once why the
   * stream ended (E_AGENT_DISCONNECTED when the agent went away), unless unsubscribed first.
   */
  subscribe(listener: (event: AgentEvent) => void, onError: (err: StrataError) => void = () => undefined): () => void {
    let done = false;
    const req = this.open('GET', '/api/events', { accept: 'text/event-stream' });
    const fail = (err: StrataError): void => {
      if (done) return;
      done = true;
      req.destroy();
      onError(err);
    };
    req.setTimeout(HEARTBEAT_MS * 3, () => fail(new StrataError('E_AGENT_TIMEOUT', 'the event stream went silent', { path: this.info.url })));
    req.on('error', (err) => fail(this.connectError(err)));
    req.on('response', (res: IncomingMessage) => {
      res.setEncoding('utf8');
      if (res.statusCode !== 200) {
        let text = '';
        res.on('data', (s: string) => (text += s));
        res.on('end', () => fail(this.httpError(res.statusCode ?? 0, text)));
        return;
      }
      const parser = new SseParser();
      res.on('data', (chunk: string) => {
        for (const data of parser.push(chunk)) {
          if (done) return;
          const event = parseEvent(data);
          if (event) listener(event);
          else return fail(new StrataError('E_AGENT_PROTOCOL', `not an agent event: ${data.slice(0, 80)}`, { path: this.info.url }));
        }
      });
      res.on('close', () => fail(new StrataError('E_AGENT_DISCONNECTED', 'the agent closed the event stream', { path: this.info.url })));
    });
    req.end();
    return () => {
      done = true;
      req.destroy();
    };
  }

  private open(method: string, path: string, headers: Record<string, string>): ClientRequest {
    return request({
      host: this.host,
      port: this.port,
      method,
      path,
      agent: false,
      headers: { authorization: `Bearer ${this.info.token}`, ...headers },
    });
  }

  private post(path: string, body: string): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = this.open('POST', path, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
      req.setTimeout(this.timeoutMs, () => req.destroy(new StrataError('E_AGENT_TIMEOUT', `no answer within ${this.timeoutMs / 1000} s`, { path: this.info.url })));
      req.on('error', (err) => reject(err instanceof StrataError ? err : this.connectError(err)));
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (s: string) => (text += s));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', (err) => reject(this.connectError(err)));
      });
      req.end(body);
    });
  }

  private connectError(err: unknown): StrataError {
    if (err instanceof StrataError) return err;
    if (isErrno(err, 'ECONNREFUSED', 'EADDRNOTAVAIL')) {
      const { pid, url } = this.info;
      const message = pidAlive(pid)
        ? `nothing answers at ${url}, though pid ${pid} from control.json is running; the agent may be starting or stopping`
        : `control.json is stale: the agent (pid ${pid}) is no longer running, it was killed or crashed; start it again`;
      return new StrataError('E_AGENT_NOT_RUNNING', message, { path: this.file }, { cause: err });
    }
    return new StrataError('E_AGENT_UNREACHABLE', `${this.info.url}: ${describeError(err)}`, { path: this.file }, { cause: err });
  }

  private httpError(status: number, text: string): StrataError {
    let error: { code?: unknown; message?: unknown; path?: unknown; key?: unknown } | undefined;
    try {
      error = (JSON.parse(text) as { error?: typeof error }).error;
    } catch {
      error = undefined;
    }
    const message = typeof error?.message === 'string' ? error.message : `HTTP ${status}`;
    if (status === 401) {
      return new StrataError('E_AGENT_AUTH', `the endpoint refused the token in control.json (${message}); is the file left over from an earlier agent?`, { path: this.file });
    }
    if (status === 403) return new StrataError('E_AGENT_FORBIDDEN', message, { path: this.info.url });
    if (typeof error?.code !== 'string' || !error.code.startsWith('E_')) {
      return new StrataError('E_AGENT_PROTOCOL', `unexpected answer: HTTP ${status}`, { path: this.info.url });
    }
    const where = { ...(typeof error.path === 'string' ? { path: error.path } : {}), ...(typeof error.key === 'string' ? { key: error.key } : {}) };
    return new StrataError(error.code as `E_${string}`, message, where);
  }
}

function parseEvent(data: string): AgentEvent | undefined {
  try {
    const v = JSON.parse(data) as { type?: unknown } | null;
    return typeof v === 'object' && v !== null && typeof v.type === 'string' ? (v as AgentEvent) : undefined;
  } catch {
    return undefined;
  }
}

/** A client for the agent that serves `stateDir`; E_AGENT_NOT_RUNNING when there is none. */
export async function connectControl(stateDir: string, options: ClientOptions = {}): Promise<ControlClient> {
  const info = await readControlFile(stateDir);
  return new ControlClient(info, controlFilePath(stateDir), options);
}

/**
 * Whether the agent `info` names runs: 'answers' when its endpoint answers a status call with its
 * token; 'silent' when its pid is alive and its endpoint takes the connection but gives no answer
 * in time: an agent stopped (SIGSTOP) or too busy, which may go on syncing at any moment; 'gone'
 * otherwise. A pid alive is not enough: after a crash another process may take the pid over, but
 * the endpoint's socket went with the agent, and nothing listens at its port any more.
 */
export async function probeAgent(info: ControlInfo, timeoutMs = 2000): Promise<'answers' | 'silent' | 'gone'> {
  try {
    await new ControlClient(info, '', { timeoutMs }).call('status', {});
    return 'answers';
  } catch (err) {
    return err instanceof StrataError && err.code === 'E_AGENT_TIMEOUT' && pidAlive(info.pid) ? 'silent' : 'gone';
  }
}
