/**
 * `slipway-provision`, bundled into the image as /usr/lib/slipway/provision.cjs. The initrd runs it
 * at first boot, chrooted into the verified root, when a host config comes without a plan compiled
 * for it and this image (see compile.ts): it checks the config against the image's facts and writes
 * the plan, which the initrd then applies.
 *
 *   node provision.cjs CONFIG-FILE LABEL PLAN-FILE
 *
 * Prints `slipway-provision: error: ...` lines, then a `hint:` line, and exits with the config
 * error's code (12) when the config does not validate; the plan file is then not written.
 */
import { readFileSync } from 'node:fs';
import { describeError } from '../error-report.ts';
import { UsageError } from '../errors.ts';
import { replaceFileDurably } from '../shared/durable.ts';
import { compileHostConfig } from './compile.ts';
import { FACTS_PATH, type ManifestFacts } from './facts.ts';

async function main(argv: string[]): Promise<number> {
  const [file, label, planFile] = argv;
  try {
    if (!file || !label || !planFile) throw new UsageError('expected CONFIG-FILE LABEL PLAN-FILE', 'usage: node provision.cjs CONFIG-FILE LABEL PLAN-FILE');
    const facts = JSON.parse(readFileSync(FACTS_PATH, 'utf8')) as ManifestFacts;
    const { plan } = await compileHostConfig(readFileSync(file), label, facts);
    replaceFileDurably(planFile, plan);
    return 0;
  } catch (error) {
    const { text, exitCode } = describeError('slipway-provision', error, { everyLine: true });
    process.stderr.write(text);
    return exitCode;
  }
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
