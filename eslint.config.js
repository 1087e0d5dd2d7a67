// Lint rules, above all the import boundaries of DESIGN §5:
//   renderer → shared,  sync → shared,  electron → sync, shared;  shared → nothing.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)].filter((m) => !m.startsWith('_'));

/** `no-restricted-imports` patterns that keep a folder from reaching into others. */
function forbid(folders, message) {
  return folders.map((folder) => ({
    group: [`**/${folder}`, `**/${folder}/**`, `../${folder}`, `../${folder}/**`],
    message,
  }));
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'build/out/**', '**/*.d.ts', 'lint-fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['sync/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'electron', message: 'sync/ runs under plain Node and must not import Electron (DESIGN §5).' }],
          patterns: forbid(['electron', 'renderer'], 'sync/ may import only shared/ from the project (DESIGN §5).'),
        },
      ],
      // DOM globals must not creep into the engine.
      'no-restricted-globals': ['error', 'window', 'document', 'navigator', 'localStorage'],
    },
  },
  {
    files: ['renderer/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'electron', message: 'renderer/ talks to the agent only through the typed API (DESIGN §5).' },
            ...nodeBuiltins.map((name) => ({ name, message: 'renderer/ is browser code and must not import Node built-ins.' })),
          ],
          patterns: forbid(['sync', 'electron'], 'renderer/ may import only shared/ from the project (DESIGN §5).'),
        },
      ],
    },
  },
  {
    files: ['shared/**/*.ts'],
    // Tests run under Node and may use its built-ins; the contract itself may not.
    ignores: ['shared/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'electron', message: 'shared/ holds types and contracts only.' },
            ...nodeBuiltins.map((name) => ({ name, message: 'shared/ holds types and contracts only and must not import Node built-ins.' })),
          ],
          patterns: forbid(['sync', 'electron', 'renderer'], 'shared/ imports nothing else from the project (DESIGN §5).'),
        },
      ],
    },
  },
  {
    files: ['electron/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: forbid(['renderer'], 'electron/ hosts the engine and loads the renderer as a page; it must not import renderer code.') },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly' } },
  },
);
