/**
 * The CLI's driver: picks the command, parses its arguments, runs it, and turns the outcome
 * into an exit code. What must hold for every command:
 *
 * - Exit code 0 on success, 1 on failure, 2 on bad usage (E_USAGE); a command may return 3 when
 *   it waits for the user (`sync --once` holding a mass delete), and 4 when it did all it could
 *   but left out what its warnings name (`restore`: paths too long for this machine; `admin
 *   preload` and `admin layer publish`: entries no layer can hold); 5 when it refused because the
 *   agent is running but does not answer (E_AGENT_NOT_ANSWERING: stopped or busy; try again).
 * - A failure prints exactly one line on stderr: `strata: E_CODE where: message`. A stack trace
 *   follows only with STRATA_DEBUG=1.
 * - With --json, stdout carries exactly one JSON object (or nothing, on failure).
 * - Everything the command opened (store connections, worker threads) is closed before `run`
 *   resolves, so the process exits as soon as it returns.
 */
import { asReported, describeError, isStrataError } from '../errors.js';
import { commandHelp, mainHelp, parseCommandArgs, splitCommand, usageError } from './args.js';
import { COMMANDS } from './commands/index.js';
import { Context, type Io } from './context.js';
import { printable } from './format.js';
import { shortPath } from '../../shared/status-text.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_AGENT_NOT_ANSWERING = 5;

/**
 * A StrataError's line is one line by construction: a line break in it comes from a name, and is
 * shown escaped with the rest. A failed system call reads as the agent reports one (asReported:
 * E_DISK_FULL, E_PATH_NOT_FOUND …, with its path). Other errors' messages may run on; their first
 * line is kept.
 */
function reportFailure(io: Io, err: unknown): number {
  const reported = asReported(err);
  const line = reported !== undefined ? reported.toString(shortPath) : describeError(err, shortPath).split('\n')[0];
  io.stderr.write(`strata: ${printable(line ?? '')}\n`);
  if (io.env.STRATA_DEBUG === '1' && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
  if (isStrataError(err, 'E_AGENT_NOT_ANSWERING')) return EXIT_AGENT_NOT_ANSWERING;
  return isStrataError(err, 'E_USAGE') ? EXIT_USAGE : EXIT_FAILURE;
}

export async function run(argv: readonly string[], io: Io): Promise<number> {
  const { command: name, rest } = splitCommand(argv);
  const wantsHelp = rest.includes('--help') || rest.includes('-h');
  if (name === undefined || name === 'help') {
    const topic = name === 'help' ? splitCommand(rest).command : undefined;
    const helpFor = topic === undefined ? undefined : COMMANDS.find((c) => c.name === topic);
    if (topic !== undefined && !helpFor) return reportFailure(io, usageError(`unknown command ${JSON.stringify(topic)}`));
    if (helpFor) io.stdout(commandHelp(helpFor));
    else if (wantsHelp || name === 'help') io.stdout(mainHelp(COMMANDS));
    else return reportFailure(io, usageError('no command given'));
    return EXIT_OK;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) return reportFailure(io, usageError(`unknown command ${JSON.stringify(name)}`));

  let ctx: Context | undefined;
  try {
    const args = parseCommandArgs(command, rest);
    if (args.values.help) {
      io.stdout(commandHelp(command));
      return EXIT_OK;
    }
    ctx = new Context(io, command.name, args);
    const code = (await command.run(ctx)) ?? EXIT_OK;
    await ctx.close();
    return code;
  } catch (err) {
    await ctx?.close().catch(() => undefined);
    return reportFailure(io, err);
  }
}
