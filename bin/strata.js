#!/usr/bin/env node
// The `strata` command. In a source checkout it runs the TypeScript sources under tsx, so that
// what runs is always what is checked out (a build in dist/ could be stale); where only the
// built CLI ships (dist/, no sources), it runs the bundle (scripts/bundle.mjs), or else tsc's output.
// (A child process rather than tsx's register(): worker threads inherit execArgv, not hooks.)
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const source = new URL('../sync/cli/main.ts', import.meta.url);
if (existsSync(source)) {
  // Resolved from this file, not the caller's working directory.
  const tsx = import.meta.resolve('tsx');
  const child = spawn(process.execPath, ['--import', tsx, fileURLToPath(source), ...process.argv.slice(2)], { stdio: 'inherit' });
  // A terminal's Ctrl-C (SIGINT) and hang-up (SIGHUP) go to the whole process group, the child
  // included: passed on as well, the child would get two, and a second Ctrl-C means "quit now".
  // Only SIGTERM, which is sent to one process, is passed on.
  for (const sig of ['SIGINT', 'SIGHUP']) process.on(sig, () => {});
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
} else {
  const bundle = new URL('../dist/bundle/strata.js', import.meta.url);
  await import((existsSync(bundle) ? bundle : new URL('../dist/sync/cli/main.js', import.meta.url)).href);
}
