/**
 * `strata sync-now`: asks the agent for a sync pass of every folder now rather than at its next
 * change or poll. It answers at once with the status; the pass runs on in the agent.
 */
import { agentCommand } from './status.js';

export const syncNowCommand = agentCommand('sync-now', 'syncNow', 'start a sync pass of every folder now', 'sync requested');
