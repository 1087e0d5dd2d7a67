/**
 * `strata login --org <file|url> --user <id>`: signs this machine in (DESIGN §4). Reads the org
 * config, asks for the access key and secret (a prompt at a terminal, else stdin; --secrets-stdin
 * always reads stdin), verifies them against the bucket and keeps them in the OS keychain only,
 * lays the user's layer onto home (--home, default the OS user's), then runs live sync like
 * `strata agent` until stopped — unless --no-sync.
 */
import { homedir } from 'node:os';
import { formatBytes } from '../format.js';
import { promptSecrets, readSecretsFromStream, type S3Credentials } from '../../credentials/index.js';
import { openAgentState } from '../../state/index.js';
import { layHome, signIn, type LayResult, type SignInEvent } from '../../signin/index.js';
import { listOption, requiredOption, stringOption, usageError } from '../args.js';
import { openChunkPool, poolChunkFn } from '../chunker.js';
import type { Context } from '../context.js';
import { POLL_OPTION, runSessionAgent } from './agent-command.js';
import { STATE_DIR_OPTION, stateDirOf, type Command } from './command.js';

export const ORG_OPTION = { type: 'string', value: '<file|url>', help: "the org config the admin distributed: a file, or its https URL" } as const;
export const SECRETS_STDIN_OPTION = { type: 'boolean', help: 'read the access key id and secret from stdin (two lines, or aws_access_key_id = … lines) even at a terminal' } as const;

/** The access key and secret: at a prompt on a terminal, else (or with --secrets-stdin) from stdin. */
export function askSecrets(ctx: Context): Promise<S3Credentials> {
  const input = ctx.io.stdin ?? process.stdin;
  if (ctx.args.values['secrets-stdin'] === true) return readSecretsFromStream(input, 'stdin');
  return promptSecrets(input, process.stderr);
}

/** The state dir's device id must be the one --device names, if it names one. */
async function checkDevice(ctx: Context, stateDir: string): Promise<(() => string) | undefined> {
  const given = stringOption(ctx.args, 'device');
  if (given === undefined) return undefined;
  const device = ctx.device;
  const state = await openAgentState(stateDir, { newDeviceId: () => device });
  if (state.deviceId !== device) throw usageError(`the state dir belongs to device ${state.deviceId}, not ${device}`, ctx.command);
  return () => device;
}

function describe(ctx: Context, e: SignInEvent): void {
  if (ctx.json) return;
  if (e.type === 'layers') {
    const layers = [...e.org.map((l) => l.layer), ...(e.user ? [e.user.layer] : [])];
    ctx.io.stderr.write(`layers: ${layers.length > 0 ? layers.join(', ') : '(none yet)'}; ${e.files} files, ${formatBytes(e.bytes)}\n`);
    for (const l of e.unpublished) ctx.warn(`${l} is assigned but has never been published; it is left out`);
  } else if (e.type === 'ready') {
    ctx.io.stderr.write(`ready in ${(e.timeToReadyMs / 1000).toFixed(2)} s (hot paths and small files: downloaded ${formatBytes(e.bytesDownloaded)}, seeded ${formatBytes(e.bytesSeeded)}, reused ${formatBytes(e.bytesReused)})\n`);
  }
}

function summary(r: LayResult): Record<string, unknown> {
  return {
    org: r.session.org.org,
    user: r.session.user,
    home: r.session.home,
    mode: r.session.mode,
    device: r.session.device,
    layers: [...(r.session.laid?.org ?? []), ...(r.session.laid?.user ? [r.session.laid.user] : [])],
    unpublished: r.unpublished,
    files: r.files,
    bytes: r.bytes,
    bytesDownloaded: r.bytesDownloaded,
    bytesSeeded: r.bytesSeeded,
    bytesReused: r.bytesReused,
    timeToReadyMs: Math.round(r.timeToReadyMs),
    totalMs: Math.round(r.totalMs),
    conflicts: r.conflicts,
    removed: r.removed,
  };
}

export const loginCommand: Command = {
  name: 'login',
  summary: 'sign in: keep the credentials in the OS keychain, lay the layer onto home, then sync (unless --no-sync)',
  args: '',
  positionals: { min: 0, max: 0 },
  options: {
    org: ORG_OPTION,
    user: { type: 'string', value: '<id>', help: 'your user id: what follows user/ in your layer id' },
    home: { type: 'string', value: '<dir>', help: 'the folder the layer is laid onto (default: your home directory)' },
    seed: { type: 'string', multiple: true, value: '<dir>', help: 'a folder whose files may hold needed bytes, e.g. a golden image copy (repeatable)' },
    'no-sync': { type: 'boolean', help: 'sign in and lay the layer, then exit (start live sync later with strata agent)' },
    'secrets-stdin': SECRETS_STDIN_OPTION,
    poll: POLL_OPTION,
    'state-dir': STATE_DIR_OPTION,
  },
  async run(ctx) {
    const org = requiredOption(ctx.args, 'org', ctx.command);
    const user = requiredOption(ctx.args, 'user', ctx.command);
    const home = stringOption(ctx.args, 'home') ?? homedir();
    if (home === '') throw usageError('--home must not be empty', ctx.command);
    const stateDir = stateDirOf(ctx);
    const newDeviceId = await checkDevice(ctx, stateDir);
    const signedIn = await signIn({ org, user, home, stateDir, credentials: () => askSecrets(ctx), ...(newDeviceId ? { newDeviceId } : {}) });
    let handedOver = false;
    try {
      const bar = ctx.progress('sign-in');
      const result = await layHome({
        store: signedIn.org.store,
        session: signedIn.session,
        stateDir,
        seeds: listOption(ctx.args, 'seed'),
        chunkFile: poolChunkFn(openChunkPool(ctx)),
        onEvent: (e) => {
          if (e.type === 'progress') bar?.update({ phase: e.phase, files: e.filesDone, totalFiles: e.files, bytes: e.bytesDone, totalBytes: e.bytes });
          else describe(ctx, e);
        },
      });
      bar?.done();
      if (ctx.json) ctx.io.stdout(`${JSON.stringify(summary(result))}\n`);
      else ctx.print(`signed in as ${user} (${result.session.org.org}, ${result.session.mode}): ${result.files} files in ${result.session.home}, ${result.conflicts.length} conflict copies`);
      if (ctx.args.values['no-sync'] === true) return;
      handedOver = true;
      await runSessionAgent(ctx, stateDir, result.session, signedIn.org);
    } finally {
      if (!handedOver) signedIn.org.close();
    }
  },
};
