/**
 * Benchmarks with targets. Each prints what it measured next to its target; the run fails when a
 * target is missed. Usage: npm run bench [-- NAME...]
 */
import { benchmarks } from './benchmarks.ts';

const wanted = process.argv.slice(2);
const selected = wanted.length > 0 ? benchmarks.filter((b) => wanted.includes(b.name)) : benchmarks;
let missed = 0;
for (const benchmark of selected) {
  process.stdout.write(`\n== ${benchmark.name}: ${benchmark.description}\n`);
  const results = await benchmark.run();
  for (const result of results) {
    const verdict = result.target === undefined ? '' : result.met ? '  ok' : '  MISSED';
    process.stdout.write(`  ${result.label.padEnd(44)} ${result.value.padStart(14)}${result.target ? `   target ${result.target}` : ''}${verdict}\n`);
    if (result.target !== undefined && !result.met) missed++;
  }
}
process.stdout.write(`\n${missed === 0 ? 'every target met' : `${missed} target(s) missed`}\n`);
process.exitCode = missed === 0 ? 0 : 1;
