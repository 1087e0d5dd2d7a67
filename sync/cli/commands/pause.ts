/**
 * `strata pause`: the agent stops syncing until `strata resume`. The pause is the agent's to keep
 * (it persists across restarts); pausing a paused agent is not an error.
 *
 * The agent answers a pause once its running pass has stopped, which over a slow bucket may take
 * longer than the CLI waits for an answer. The pause took effect before that wait (the paused flag
 * is saved first), so a wait that runs out must not be reported as a failure: the agent's status
 * then says whether it is paused, and the command says the running pass is still stopping.
 */
import type { AgentStatus } from '../../../shared/agent-api.js';
import type { ControlClient } from '../../control/index.js';
import { isStrataError } from '../../errors.js';
import { STATE_DIR_OPTION, type Command } from './command.js';
import { connectAgent, statusLines } from './status.js';

/** Pauses the agent behind `client`; `stopping` when the pause took effect but the running pass has not ended yet. */
export async function pauseAgent(client: ControlClient): Promise<{ status: AgentStatus; stopping: boolean }> {
  try {
    return { status: await client.call('pause', {}), stopping: false };
  } catch (err) {
    if (!isStrataError(err, 'E_AGENT_TIMEOUT')) throw err;
    const status = await client.call('status', {});
    if (!status.paused) throw err;
    return { status, stopping: true };
  }
}

export const pauseCommand: Command = {
  name: 'pause',
  summary: 'pause syncing until `strata resume` (kept across restarts)',
  args: '',
  positionals: { min: 0, max: 0 },
  options: { 'state-dir': STATE_DIR_OPTION },
  async run(ctx) {
    const { status, stopping } = await pauseAgent(await connectAgent(ctx));
    if (ctx.json) ctx.printJson(status);
    else ctx.print(stopping ? 'sync paused; the running pass is still stopping' : 'sync paused', ...statusLines(status));
  },
};
