/**
 * The S3 server the benchmark runs against: the one STRATA_TEST_S3_* names, or a throwaway
 * OpenStack Swift started with scripts/swift/server.sh. A server this module started must be
 * stopped on every exit path; `stop` is idempotent so cleanup code can call it unconditionally.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StrataError } from '../errors.js';
import { s3TestEnv, type S3TestEnv } from '../testing/s3.js';
import { run } from './proc.js';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = join(REPO_ROOT, 'scripts/swift/server.sh');

export interface S3Server {
  env: S3TestEnv;
  /** True when this run started the server (so it is stopped and its buckets go with it). */
  owned: boolean;
  stop(): Promise<void>;
}

function parseEnvFile(text: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) env[m[1] as string] = m[2];
  }
  return env;
}

export async function startS3(stateDir: string): Promise<S3Server> {
  const existing = s3TestEnv();
  if (existing) return { env: existing, owned: false, stop: async () => {} };
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await run('bash', [SCRIPT, 'stop', stateDir], { cleanup: true }).catch(() => {});
  };
  try {
    await run('bash', [SCRIPT, 'start', stateDir], { timeoutSeconds: 180 });
    const env = s3TestEnv(parseEnvFile(await readFile(join(stateDir, 'env'), 'utf8')));
    if (!env) throw new StrataError('E_BENCH_S3', `${stateDir}/env does not name an endpoint and credentials`);
    return { env, owned: true, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
