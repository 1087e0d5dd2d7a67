#!/usr/bin/env node
// The `strata` command. Runs the compiled CLI when `npm run build` has produced it; otherwise
// the TypeScript sources under `node --import tsx`, so a fresh clone works after `npm install`.
// (A child process rather than tsx's register(): worker threads inherit execArgv, not hooks.)
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = new URL('../dist/sync/cli/main.js', import.meta.url);
if (existsSync(built)) {
  await import(built.href);
} else {
  const main = fileURLToPath(new URL('../sync/cli/main.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', main, ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
