/**
 * Ends every run with each test file's time, slowest first (so a slow test is seen when it
 * lands), then the plain line CI reads: `N passed, N failed, N skipped`, always the last line.
 */
import { relative } from 'node:path';
import type { Reporter, TestModule, Vitest } from 'vitest/node';

/** A file's time: its environment, setup and import, then its tests and hooks. */
function seconds(module: TestModule): number {
  const d = module.diagnostic();
  return (d.environmentSetupDuration + d.prepareDuration + d.setupDuration + d.collectDuration + d.duration) / 1000;
}

export default class SummaryReporter implements Reporter {
  private root = process.cwd();

  onInit(vitest: Vitest): void {
    this.root = vitest.config.root;
  }

  async onTestRunEnd(modules: ReadonlyArray<TestModule>): Promise<void> {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const module of modules) {
      let failedHere = 0;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failedHere++;
        else skipped++;
      }
      // A file that failed outside its tests (its import, or a beforeAll, which skips them all) is a failure too.
      if (module.state() === 'failed' && failedHere === 0) failedHere = 1;
      failed += failedHere;
    }
    const times = [...modules].map((module) => ({ module, seconds: seconds(module) })).sort((a, b) => b.seconds - a.seconds);
    const lines = times.map(({ module, seconds }) => {
      const tests = [...module.children.allTests()].length;
      return `${seconds.toFixed(1).padStart(8)} s  ${relative(this.root, module.moduleId)} (${tests} test${tests === 1 ? '' : 's'})`;
    });
    // Vitest calls the default reporter's summary (onFinished) right after this hook returns; one
    // turn of the event loop later, this reporter's lines come after it, the count line last.
    await new Promise((resolve) => setImmediate(resolve));
    process.stdout.write(`\n${lines.map((line) => `${line}\n`).join('')}\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
