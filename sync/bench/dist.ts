/**
 * Strata's CLI as users run it once built: `npm run build` (tsc -b into dist/, then the bundle,
 * scripts/bundle.mjs), then `node dist/bundle/strata.js …`. No tsx at run time, so no transpiling
 * counts in the timings.
 *
 * The build is checked before any timed phase: the entry point must exist, and a snapshot of a
 * file larger than the chunk pool's inline limit (64 KiB) must succeed, which proves the pool's
 * workers load dist/bundle/worker.js. A broken build fails the run here, with tsc's output,
 * instead of as a tool failure half-way through the scenario.
 */
import { access, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { StrataError, describeError } from '../errors.js';
import { makeRng } from '../testing/random.js';
import { run } from './proc.js';
import { REPO_ROOT } from './swift.js';

export const CLI_ENTRY = join(REPO_ROOT, 'dist/bundle/strata.js');
const WORKER_ENTRY = join(REPO_ROOT, 'dist/bundle/worker.js');
/** Above the pool's inline limit, so the check goes through a worker thread. */
const CHECK_FILE_BYTES = 256 * 1024;

function buildFailed(message: string, cause?: unknown): StrataError {
  return new StrataError('E_BENCH_BUILD', `building Strata for the benchmark failed: ${message}`, {}, { cause });
}

async function mustExist(path: string): Promise<void> {
  await access(path).catch((err: unknown) => {
    throw buildFailed(`npm run build did not produce ${path}`, err);
  });
}

/** Snapshots one file above the inline limit through the built CLI into a fresh repository in `dir`. */
async function checkSnapshot(cli: string, dir: string): Promise<void> {
  const files = join(dir, 'files');
  const repo = join(dir, 'repo');
  await mkdir(files, { recursive: true });
  await mkdir(repo, { recursive: true });
  await writeFile(join(files, 'check.bin'), makeRng(1).bytes(CHECK_FILE_BYTES));
  const store = ['--store', pathToFileURL(repo).href, '--device', 'bench-check', '--json'];
  // Config, caches and state stay in `dir`, never the user's.
  const env = { ...process.env, HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), XDG_CACHE_HOME: join(dir, 'cache'), XDG_STATE_HOME: join(dir, 'state') };
  try {
    await run(process.execPath, [cli, 'init', ...store], { env });
    const out = await run(process.execPath, [cli, 'snapshot', files, '--layer', 'user/check', ...store], { env });
    const report = JSON.parse(out.stdout) as { files?: unknown; bytesRead?: unknown };
    if (report.files !== 1 || report.bytesRead !== CHECK_FILE_BYTES) throw new Error(`unexpected report ${out.stdout.slice(0, 200)}`);
  } catch (err) {
    throw buildFailed(`a snapshot of a ${CHECK_FILE_BYTES}-byte file through ${cli} failed: ${describeError(err)}`, err);
  }
}

/** Runs `npm run build` in the repository, checks the result in `workDir`, and returns the CLI entry point. */
export async function buildStrataCli(workDir: string): Promise<string> {
  await run('npm', ['run', 'build'], { cwd: REPO_ROOT, timeoutSeconds: 900 }).catch((err: unknown) => {
    throw buildFailed(`npm run build: ${describeError(err)}`, err);
  });
  await mustExist(CLI_ENTRY);
  await mustExist(WORKER_ENTRY);
  await checkSnapshot(CLI_ENTRY, workDir);
  return CLI_ENTRY;
}
