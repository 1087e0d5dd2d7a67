/**
 * The `strata` command line (bin/strata.js runs this file, compiled or through tsx).
 *
 *   strata init
 *   strata snapshot <dir> --layer <id>
 *   strata restore <dir> --layer <id> [--snapshot <id>] [--seed <dir>]…
 *   strata log --layer <id>
 *   strata ls --layer <id> [--snapshot <id>] [path]
 *   strata check [--read-data]
 *
 * Global options: --store <url> (or STRATA_STORE), --device <id>, --json, --help. The contract
 * every command keeps (exit codes, one-line errors, one JSON object) is in run.ts.
 */
import { closeHungUpTerminalsAtExit } from './hung-up.js';
import { run } from './run.js';

// On Node < 22 the AWS SDK's first client warns, in eight lines, that SDK releases after January
// 2027 will need Node 22: news for whoever upgrades Strata's dependencies, not for someone running
// a command. The SDK's documented switch keeps it out of every command's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/**
 * Commands close what they open, so the process should end by itself; if a stray handle still
 * holds it, end it shortly after instead of hanging a script. The timer is unref'd: it never
 * delays a process that is free to exit.
 */
const LINGER_MS = 2000;

closeHungUpTerminalsAtExit();

const code = await run(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: {
    write: (text) => process.stderr.write(text),
    isTTY: process.stderr.isTTY === true,
    get columns() {
      return process.stderr.columns;
    },
  },
  env: process.env,
});
process.exitCode = code;
setTimeout(() => {
  process.stderr.write('strata: warning: something was left open after the command ended (a bug); exiting anyway\n');
  process.exit(code);
}, LINGER_MS).unref();
