import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['node_modules', 'out', 'dist', 'coverage', 'bench/results', 'resources'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      // The engine must never depend on Electron: it runs in plain Node (CLI, server, utilityProcess).
      'no-restricted-imports': 'off',
    },
  },
  {
    files: ['src/engine/**', 'src/nodes/**', 'src/cli/**', 'src/shared/**', 'src/server/**', 'src/renderer/**', 'src/main/engine-process.ts', 'src/main/engine-relay.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'electron', message: 'Only src/main (not its engine process) and src/preload may import Electron.' }] }],
    },
  },
);
