/**
 * A CLI command: its argument spec (for parsing and help) and what it does. `run` returns the
 * exit code (0 when it returns nothing); it reports failure by throwing a StrataError, which the
 * CLI prints as one line. The context's close() runs after it whatever happens.
 */
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { defaultStateDir } from '../../state/index.js';
import { stringOption, usageError, type CommandSpec } from '../args.js';
import type { Context } from '../context.js';

export interface Command extends CommandSpec {
  run(ctx: Context): Promise<number | void>;
}

export const LAYER_OPTION = { type: 'string', value: '<id>', help: 'the layer: user/<id> or org/<name>' } as const;
export const SNAPSHOT_OPTION = {
  type: 'string',
  value: '<id>',
  help: 'a snapshot id, or a unique prefix of at least 8 hex digits (default: the latest)',
} as const;

/** Seconds since `start` (a performance.now() reading), rounded to milliseconds. */
export function secondsSince(start: number): number {
  return Math.round(performance.now() - start) / 1000;
}

export const STATE_DIR_OPTION = {
  type: 'string',
  value: '<dir>',
  help: "the agent's state folder (default: this user's, e.g. ~/.local/state/strata)",
} as const;

/** --state-dir (made absolute), else the OS default for this user. */
export function stateDirOf(ctx: Context): string {
  const given = stringOption(ctx.args, 'state-dir');
  if (given === '') throw usageError('--state-dir must not be empty', ctx.command);
  return resolve(given ?? defaultStateDir(process.platform, ctx.io.env, homedir()));
}
