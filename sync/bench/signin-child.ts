/**
 * The sign-in benchmark's Strata process: what `strata login --no-sync` does, minus the OS
 * keychain, printing what the harness times as JSON lines on stdout. The bench runs it built
 * (`node dist/bundle/signin-child.js`, bundled like the CLI), as a child process, like restic and rclone.
 *
 *   node signin-child.js --org <org.json> --user <id> --home <dir> --state-dir <dir>
 *   credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
 *
 * Same steps as login (sync/signin/login.ts) and the CLI's layHome call: the org config read and
 * validated, the credentials proved by a signed read of the repository (openVerified), the state
 * dir's device id, the session file, then layHome with the CLI's chunker pool (files one by one,
 * small ones in batches). Left out: the keychain check and save (a few D-Bus calls), which would
 * need a Secret Service in the bench.
 *
 * Lines: `mark` (start, verified), every SignInEvent but progress, `first-progress` per phase
 * (the restore has planned and scanned its seeds), each with `ms` (performance.now(): since the
 * process started), `cpuMs` (CPU time of all its threads so far: on a loaded machine a steadier
 * measure of its own work than `ms`), the store's requests so far, and how much local chunking was done.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ChunkPool } from '../chunker/index.js';
import { describeError } from '../errors.js';
import { checkUserId } from '../profile/index.js';
import { chunkSmall } from '../chunker/small.js';
import type { ChunkFileFn, ChunkFilesFn } from '../restore/index.js';
import { layHome, openOrgStore, openVerified, writeSession, canonicalSource, loadOrgConfig, type Session } from '../signin/index.js';
import { openAgentState } from '../state/index.js';
import { CountingStore } from '../store/counting.js';
import type { ChunkStats } from './signin-results.js';

/**
 * Counts the files and bytes chunked, one by one (chunkFile) or in batches (chunkFiles), and the
 * time with at least one of either running.
 */
function countingChunker(stats: ChunkStats): { file: (inner: ChunkFileFn) => ChunkFileFn; files: (inner: ChunkFilesFn) => ChunkFilesFn } {
  let inFlight = 0;
  let since = 0;
  const busy = async <T>(work: () => Promise<T>): Promise<T> => {
    if (inFlight++ === 0) since = performance.now();
    try {
      return await work();
    } finally {
      if (--inFlight === 0) stats.busyMs += performance.now() - since;
    }
  };
  return {
    file: (inner) => (path, params, hash) =>
      busy(async () => {
        const r = await inner(path, params, hash);
        stats.files++;
        stats.bytes += r.size;
        return r;
      }),
    files: (inner) => (files, params, hash) =>
      busy(async () => {
        const rs = await inner(files, params, hash);
        for (const r of rs) {
          if (r === undefined) continue;
          stats.files++;
          stats.bytes += r.size;
        }
        return rs;
      }),
  };
}

/** CPU time of the whole process (every thread) so far, in ms. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { org: { type: 'string' }, user: { type: 'string' }, home: { type: 'string' }, 'state-dir': { type: 'string' } } });
  const { org: orgFile, user, home, 'state-dir': stateDir } = values;
  if (!orgFile || !user || !home || !stateDir) throw new Error('usage: signin-child --org <file> --user <id> --home <dir> --state-dir <dir>');
  const accessKeyId = process.env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) throw new Error('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set');

  const chunks: ChunkStats = { files: 0, bytes: 0, busyMs: 0 };
  const counting = countingChunker(chunks);
  let store: CountingStore | undefined;
  const line = (fields: Record<string, unknown>): void => {
    const requests = store ? { gets: store.counts.gets, bytesFetched: store.counts.bytesDownloaded } : {};
    process.stdout.write(`${JSON.stringify({ ...fields, ms: performance.now(), cpuMs: cpuMs(), ...requests, chunked: { ...chunks } })}\n`);
  };
  line({ type: 'mark', name: 'start' });

  const config = await loadOrgConfig(orgFile);
  const userId = checkUserId(user);
  const org = openOrgStore(config, { accessKeyId, secretAccessKey });
  const pool = new ChunkPool();
  try {
    await openVerified(org);
    const state = await openAgentState(stateDir);
    const session: Session = {
      version: 1,
      source: canonicalSource(orgFile),
      org: config,
      user: userId,
      home: resolve(home),
      mode: config.mode,
      device: state.deviceId,
      signedIn: new Date().toISOString(),
    };
    await writeSession(stateDir, session);
    store = new CountingStore(org.store);
    line({ type: 'mark', name: 'verified' });
    const seen = new Set<string>();
    await layHome({
      store,
      session,
      stateDir,
      chunkFile: counting.file((path, params, hash) => pool.chunkFile(path, params, { hash })),
      chunkFiles: counting.files((files, params, hash) => chunkSmall(files, (bytes) => pool.chunkBuffers(bytes, params, { hash }))),
      onEvent: (e) => {
        if (e.type !== 'progress') return line({ ...e });
        if (seen.has(e.phase)) return;
        seen.add(e.phase);
        line({ type: 'first-progress', phase: e.phase, filesDone: e.filesDone, files: e.files });
      },
    });
  } finally {
    await pool.close();
    org.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`signin-child: ${describeError(err)}\n`);
  process.exitCode = 1;
});
