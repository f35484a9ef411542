import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    // Integration tests download from a real archive and run real tools; end-to-end tests boot QEMU.
    testTimeout: 300_000,
    hookTimeout: 600_000,
    // One file at a time: builds and QEMU under TCG each want both cores, and two at once make
    // boots slow enough to trip their timeouts.
    fileParallelism: false,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
