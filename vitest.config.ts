import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // 2-core machines: keep workers few so ONNX sessions and the browser do not starve each other.
    maxWorkers: 2,
  },
});
