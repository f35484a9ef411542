import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests download from a real archive and run real tools; end-to-end tests boot QEMU.
    testTimeout: 300_000,
    hookTimeout: 600_000,
    // Two cores: keep heavy files from fighting over them.
    fileParallelism: true,
    maxWorkers: 2,
    minWorkers: 1,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
