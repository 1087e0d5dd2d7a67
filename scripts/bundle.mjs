#!/usr/bin/env node
// The shipped CLI, bundled: `npm run build` runs this after tsc. esbuild puts the CLI and
// everything it imports (the AWS SDK's hundreds of modules included) into one file, so a start
// reads and links one module instead of resolving, reading and linking each of them: the sign-in
// bench's process start went from 0.50 s to 0.32 s. Native modules stay outside (they are loaded
// from node_modules), and the chunker's worker is bundled beside the CLI, where chunker/pool.ts
// looks for it.
//
//   node scripts/bundle.mjs [--outdir <dir>]   (default dist/bundle; inside the repository, so
//                                                that node_modules resolves from it)
//
// Entries: strata.js (the CLI, what bin/strata.js runs where no sources ship), worker.js (the
// chunk pool's worker), signin-child.js (the sign-in benchmark's process, as users run it),
// keychain-child.js (the process each keychain operation runs in: credentials/bounded.ts).
import { build } from 'esbuild';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = new URL('..', import.meta.url).pathname;
const { values } = parseArgs({ options: { outdir: { type: 'string' } } });
const outdir = resolve(values.outdir ?? `${root}dist/bundle`);

// CommonJS code in the bundle (the AWS SDK) calls require() for Node's own modules.
const requireShim = "import { createRequire as strataCreateRequire } from 'node:module';\nconst require = strataCreateRequire(import.meta.url);";

await build({
  absWorkingDir: root,
  entryPoints: {
    strata: 'sync/cli/main.ts',
    worker: 'sync/chunker/worker.ts',
    'signin-child': 'sync/bench/signin-child.ts',
    'keychain-child': 'sync/credentials/keychain-child.ts',
  },
  outdir,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  banner: { js: requireShim },
  // Native addons: their loaders pick the platform's prebuilt binary at run time.
  external: ['@napi-rs/keyring', '@napi-rs/blake-hash', 'electron'],
  logLevel: 'warning',
});
