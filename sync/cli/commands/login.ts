/**
 * `strata login --org <file|url> --user <id>`: signs this machine in (DESIGN §4). Reads the org
 * config, asks for the access key and secret (a prompt at a terminal, else stdin; --secrets-stdin
 * always reads stdin), verifies them against the bucket and keeps them in the OS keychain only,
 * lays the user's layer onto home (--home, default the OS user's), then runs live sync like
 * `strata agent` until stopped — unless --no-sync.
 */
import { homedir } from 'node:os';
import { describeError } from '../../errors.js';
import { cancelOnInterrupt } from '../interrupt.js';
import { promptSecrets, readSecretsFromStream, type S3Credentials } from '../../credentials/index.js';
import { readDeviceId } from '../../state/index.js';
import { signIn } from '../../signin/index.js';
import { listOption, requiredOption, stringOption, usageError } from '../args.js';
import type { Context } from '../context.js';
import { agentTimings, ORG_CHECK_OPTION, POLL_OPTION, runSessionAgent } from './agent-command.js';
import { STATE_DIR_OPTION, stateDirOf, type Command } from './command.js';
import { layWithOutput, laySummary } from './lay-output.js';
import { plural } from '../../../shared/status-text.js';

export const ORG_OPTION = { type: 'string', value: '<file|url>', help: "the org config the admin distributed: a file, or its https URL" } as const;
export const SECRETS_STDIN_OPTION = { type: 'boolean', help: 'read the access key id and secret from stdin (two lines, or aws_access_key_id = … lines) even at a terminal' } as const;

/** The access key and secret: at a prompt on a terminal, else (or with --secrets-stdin) from stdin. */
export function askSecrets(ctx: Context): Promise<S3Credentials> {
  const input = ctx.io.stdin ?? process.stdin;
  if (ctx.args.values['secrets-stdin'] === true) return readSecretsFromStream(input, 'stdin');
  return promptSecrets(input, process.stderr);
}

/** The state dir's device id must be the one --device names, if it names one (checked without writing: the sign-in may yet fail). */
async function checkDevice(ctx: Context, stateDir: string): Promise<(() => string) | undefined> {
  const given = stringOption(ctx.args, 'device');
  if (given === undefined) return undefined;
  const device = ctx.device;
  const existing = await readDeviceId(stateDir);
  if (existing !== undefined && existing !== device) throw usageError(`the state dir belongs to device ${existing}, not ${device}`, ctx.command);
  return () => device;
}

export const loginCommand: Command = {
  name: 'login',
  summary: 'sign in: keep the credentials in the OS keychain, lay the layer onto home, then sync (unless --no-sync)',
  args: '',
  positionals: { min: 0, max: 0 },
  globals: ['device'],
  globalHelp: { device: "this machine's device id (default: the state dir's device id, a new random one for a new state dir; another id than the state dir's is refused)" },
  options: {
    org: ORG_OPTION,
    user: { type: 'string', value: '<id>', help: 'your user id: what follows user/ in your layer id' },
    home: { type: 'string', value: '<dir>', help: 'the folder the layer is laid onto (default: your home directory)' },
    seed: { type: 'string', multiple: true, value: '<dir>', help: 'a folder whose files may hold needed bytes, e.g. a golden image copy (repeatable)' },
    'no-sync': { type: 'boolean', help: 'sign in and lay the layer, then exit (start live sync later with strata agent)' },
    'secrets-stdin': SECRETS_STDIN_OPTION,
    poll: POLL_OPTION,
    'org-check': ORG_CHECK_OPTION,
    'state-dir': STATE_DIR_OPTION,
  },
  async run(ctx) {
    const org = requiredOption(ctx.args, 'org', ctx.command);
    const user = requiredOption(ctx.args, 'user', ctx.command);
    const home = stringOption(ctx.args, 'home') ?? homedir();
    if (home === '') throw usageError('--home must not be empty', ctx.command);
    const stateDir = stateDirOf(ctx);
    const timings = agentTimings(ctx);
    const newDeviceId = await checkDevice(ctx, stateDir);
    const signedIn = await signIn({ org, user, home, stateDir, credentials: () => askSecrets(ctx), ...(newDeviceId ? { newDeviceId } : {}) });
    let handedOver = false;
    const cancel = cancelOnInterrupt('sign-in cancelled while laying the layer onto home; nobody was signed in');
    try {
      // A lay that fails, or that Ctrl-C stops, signs nobody in: the state dir and the keychain go back to what they were.
      const result = await layWithOutput(ctx, { store: signedIn.org.store, session: signedIn.session, stateDir, seeds: listOption(ctx.args, 'seed'), signal: cancel.signal })
        .catch(async (err: unknown) => {
          await signedIn.undo(err).catch((e: unknown) => ctx.warn(`the failed sign-in could not be undone: ${describeError(e)}`));
          throw err;
        })
        .finally(() => cancel.dispose());
      if (cancel.signal.aborted) ctx.warn('interrupted once the layer was laid: signed in, but live sync is not started (strata agent starts it)');
      if (ctx.json) ctx.io.stdout(`${JSON.stringify(laySummary(result))}\n`);
      else ctx.print(`signed in as ${user} (${result.session.org.org}, ${result.session.mode}): ${plural(result.files, 'file')} in ${result.session.home}, ${plural(result.conflicts.length, 'conflict copy', 'conflict copies')}`);
      if (ctx.args.values['no-sync'] === true || cancel.signal.aborted) return;
      handedOver = true;
      await runSessionAgent(ctx, stateDir, result.session, timings, signedIn.org);
    } finally {
      if (!handedOver) signedIn.org.close();
    }
  },
};
