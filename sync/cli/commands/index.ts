/** Every CLI command, in the order `strata --help` lists them. */
import type { Command } from './command.js';
import { checkCommand } from './check.js';
import { initCommand } from './init.js';
import { logCommand } from './log.js';
import { lsCommand } from './ls.js';
import { restoreCommand } from './restore.js';
import { snapshotCommand } from './snapshot.js';

export type { Command };

export const COMMANDS: readonly Command[] = [initCommand, snapshotCommand, restoreCommand, logCommand, lsCommand, checkCommand];
