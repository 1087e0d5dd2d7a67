import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeExcluder } from '../watch/index.js';
import { includeRules } from './include.js';

test('only the listed folders (and the dirs leading to them) are included', () => {
  const ex = makeExcluder(includeRules(['Documents', '.config/app', '.config/other/deep', 'AppData/Roaming/App']));
  assert.equal(ex('Documents', true), false, 'Documents/ is included');
  const inside = ['Documents/a.txt', 'Documents/sub/b', '.config/app/x.json', '.config/other/deep/y', 'AppData/Roaming/App/s.db'];
  const outside = ['Downloads', 'Downloads/big.iso', '.bashrc', '.config/unrelated', '.config/other/z', 'AppData/Local', 'AppData/Roaming/Other/x'];
  for (const p of inside) assert.equal(ex(p, false), false, `${p} is included`);
  for (const p of outside) assert.equal(ex(p, false), true, `${p} is excluded`);
  // The dirs on the way are walked (not excluded), so their listed children can be reached.
  for (const d of ['.config', '.config/other', 'AppData', 'AppData/Roaming']) assert.equal(ex(d, true), false, `${d}/ is walked`);
});

test('the defaults still apply inside included folders, and no folders means the whole root', () => {
  const ex = makeExcluder(includeRules(['Documents']));
  assert.equal(ex('Documents/~$report.docx', false), true);
  assert.deepEqual(includeRules([]), []);
  assert.deepEqual(includeRules(['a', 'a/b']), ['/*', '!/a/']);
});

test('folder paths that are not plain paths are refused', () => {
  for (const bad of ['', '../x', 'a/../b', 'Docs/*', '!x']) assert.throws(() => includeRules([bad]), { code: 'E_BAD_FOLDER' });
});
