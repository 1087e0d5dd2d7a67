/** `strata resume`: the agent syncs again after `strata pause`; resuming a running agent is not an error. */
import { agentCommand } from './status.js';

export const resumeCommand = agentCommand('resume', 'resume', 'resume syncing after `strata pause`', 'sync resumed');
