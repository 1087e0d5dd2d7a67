#!/usr/bin/env node
// Makes Electron's type declarations available for typechecking electron/ where the `electron`
// package could not be installed (its installer downloads the binary from a host that some
// machines, CI among them, cannot reach; npm then drops the optional dependency).
//
// It fetches the package tarball from the npm registry with `npm pack` and keeps only
// electron.d.ts, in node_modules/.strata/electron-types/. electron/tsconfig.json resolves
// 'electron' to the installed package first and to this copy second.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const installed = join(root, 'node_modules/electron/electron.d.ts');
const outDir = join(root, 'node_modules/.strata/electron-types');
const out = join(outDir, 'electron.d.ts');

if (existsSync(installed) || existsSync(out)) process.exit(0);

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const spec = `electron@${pkg.optionalDependencies.electron}`;
const work = mkdtempSync(join(tmpdir(), 'strata-electron-types-'));
try {
  const tarball = execFileSync('npm', ['pack', spec, '--silent', '--pack-destination', work], { cwd: work, encoding: 'utf8' }).trim().split('\n').pop();
  mkdirSync(outDir, { recursive: true });
  execFileSync('tar', ['-xzf', join(work, tarball), '-C', outDir, '--strip-components=1', 'package/electron.d.ts']);
  console.log(`electron-types: ${spec} declarations in ${out}`);
} catch (err) {
  console.error(`electron-types: could not fetch ${spec} from the npm registry: ${err.message}`);
  process.exit(1);
} finally {
  rmSync(work, { recursive: true, force: true });
}
