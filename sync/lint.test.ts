// The import boundaries of DESIGN §5 are enforced by `npm run lint`; this proves a crossing fails.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';

const eslint = new ESLint();

async function ruleIds(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => m.ruleId ?? m.message);
}

describe('lint: process boundaries', () => {
  const cases: Array<[string, string, string]> = [
    ['sync imports electron', 'sync/bad.ts', "import { app } from 'electron';\nexport const x = app;\n"],
    ['sync imports the renderer', 'sync/store/bad.ts', "import { x } from '../../renderer/main.js';\nexport const y = x;\n"],
    ['renderer imports the engine', 'renderer/bad.ts', "import { x } from '../sync/errors.js';\nexport const y = x;\n"],
    ['renderer imports a Node built-in', 'renderer/bad.ts', "import { readFile } from 'node:fs';\nexport const y = readFile;\n"],
    ['shared imports the engine', 'shared/bad.ts', "import { x } from '../sync/errors.js';\nexport const y = x;\n"],
    ['sync touches the DOM', 'sync/bad.ts', 'export const t = document.title;\n'],
  ];
  for (const [name, file, code] of cases) {
    it(`fails when ${name}`, async () => {
      const ids = await ruleIds(code, file);
      assert.ok(ids.some((id) => id === 'no-restricted-imports' || id === 'no-restricted-globals'), `expected a boundary error, got ${JSON.stringify(ids)}`);
    });
  }

  it('allows the permitted directions', async () => {
    assert.deepEqual(await ruleIds("import type { X } from '../shared/api.js';\nexport type Y = X;\n", 'sync/ok.ts'), []);
    assert.deepEqual(await ruleIds("import type { X } from '../shared/api.js';\nexport type Y = X;\n", 'renderer/ok.ts'), []);
  });
});
