#!/usr/bin/env node
// The `strata` command. In a source checkout it runs the TypeScript sources under tsx, so that
// what runs is always what is checked out (a build in dist/ could be stale); where only the
// built CLI ships (dist/, no sources), it runs the bundle (scripts/bundle.mjs), or else tsc's output.
// (A child process rather than tsx's register(): worker threads inherit execArgv, not hooks.)
import { spawn } from 'node:child_process';
import { closeSync, existsSync } from 'node:fs';
import { isatty } from 'node:tty';
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
  // As sync/cli/hung-up.ts does for the CLI: Node 20 aborts at exit where it puts back the mode of
  // a terminal that has hung up since, unless the descriptor is closed by then.
  const terminals = [0, 1, 2].filter((fd) => isatty(fd));
  process.once('exit', () => {
    for (const fd of terminals) if (!isatty(fd)) closeSync(fd);
  });
  // A signal the CLI does not catch (SIGKILL, SIGSEGV …) ends it without a word: say so.
  child.on('exit', (code, signal) => {
    if (signal) process.stderr.write(`strata: E_INTERRUPTED the command (pid ${child.pid}) was ended by ${signal}\n`);
    process.exit(code ?? 1);
  });
} else {
  const bundle = new URL('../dist/bundle/strata.js', import.meta.url);
  await import((existsSync(bundle) ? bundle : new URL('../dist/sync/cli/main.js', import.meta.url)).href);
}
