/**
 * `strata pause`: the agent stops syncing until `strata resume`. The pause is the agent's to keep
 * (it persists across restarts); pausing a paused agent is not an error.
 */
import { agentCommand } from './status.js';

export const pauseCommand = agentCommand('pause', 'pause', 'pause syncing until `strata resume` (kept across restarts)', 'sync paused');
