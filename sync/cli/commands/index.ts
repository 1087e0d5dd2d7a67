/** Every CLI command, in the order `strata --help` lists them. */
import type { Command } from './command.js';
import { checkCommand } from './check.js';
import { initCommand } from './init.js';
import { logCommand } from './log.js';
import { lsCommand } from './ls.js';
import { restoreCommand } from './restore.js';
import { snapshotCommand } from './snapshot.js';
import { statusCommand } from './status.js';
import { uiCommand } from './ui.js';
import { conflictsCommand, resolveCommand } from './conflicts.js';
import { deletesCommand } from './deletes.js';
import { pauseCommand } from './pause.js';
import { resumeCommand } from './resume.js';
import { syncNowCommand } from './sync-now.js';
import { syncCommand } from './sync.js';
import { adminCommand } from './admin.js';
import { loginCommand } from './login.js';
import { agentServiceCommand } from './agent-command.js';
import { logoutCommand } from './logout.js';

export type { Command };

export const COMMANDS: readonly Command[] = [initCommand, snapshotCommand, restoreCommand, logCommand, lsCommand, checkCommand, syncCommand, statusCommand, uiCommand, conflictsCommand, resolveCommand, deletesCommand, pauseCommand, resumeCommand, syncNowCommand, loginCommand, agentServiceCommand, logoutCommand, adminCommand];
