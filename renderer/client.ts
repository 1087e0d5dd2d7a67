/**
 * The page's line to the agent: commands over loopback HTTP with the token as a bearer header, the
 * stream of statuses (Server-Sent Events), and the errors a command ends in, which the page tells
 * apart (a key no longer taken, nothing answered, a command refused).
 */
import type { AgentEvent, CommandArg, CommandName, CommandResult } from '../shared/agent-api.js';

/** The agent refused the token: it restarted (a new token) since this tab got it. */
export class Unauthorized extends Error {
  constructor() {
    super('The agent no longer accepts this page\'s key (it restarted). Open the page again with the address `strata ui` prints.');
  }
}

/** A command that never reached the agent: a status from it, pushed or asked for, ends what this says. */
export class Unreachable extends Error {
  constructor() {
    super(`Could not reach the agent. ${IF_STOPPED}`);
  }
}

/** The agent refused a command: `code` is its error's (shared/agent-api.ts ApiError). */
export class Refused extends Error {
  constructor(
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/**
 * What to do when the agent is gone: it answers at a new address, with a new key, each time it
 * starts, so this page cannot find it again by itself.
 */
export const IF_STOPPED = 'If it stopped, start it again and open this page with the address `strata ui` prints.';

export class Client {
  constructor(private readonly token: string) {}

  async call<C extends CommandName>(command: C, arg: CommandArg<C>): Promise<CommandResult<C>> {
    const res = await fetch(`/api/${command}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(arg),
    }).catch(() => {
      // fetch says only "Failed to fetch": nothing answered.
      throw new Unreachable();
    });
    const body = (await res.json().catch(() => undefined)) as { error?: { code?: unknown; message?: unknown } } | undefined;
    if (res.status === 401) throw new Unauthorized();
    if (!res.ok) throw new Refused(typeof body?.error?.code === 'string' ? body.error.code : undefined, typeof body?.error?.message === 'string' ? body.error.message : `the agent answered HTTP ${res.status}`);
    return body as CommandResult<C>;
  }

  events(onEvent: (e: AgentEvent) => void, onDrop: () => void): EventSource {
    const source = new EventSource(`/api/events?token=${encodeURIComponent(this.token)}`);
    source.onmessage = (m: MessageEvent<string>) => onEvent(JSON.parse(m.data) as AgentEvent);
    source.onerror = onDrop;
    return source;
  }
}
