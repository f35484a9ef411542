/** StepList makes the build's order a type: a step that reads what no earlier step makes does not compile. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const PIPELINE = new URL('../../../src/pipeline/', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'slipway-step-order-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The compiler's errors for a list of steps from tree-steps.ts, in the given order. */
function errorsOf(steps: string[]): string[] {
  const file = join(dir, `order-${steps.join('-')}.ts`);
  writeFileSync(file, [
    `import type { BuildInputs } from '${PIPELINE}context.ts';`,
    `import { StepList } from '${PIPELINE}step.ts';`,
    `import { ${steps.join(', ')} } from '${PIPELINE}tree-steps.ts';`,
    `export const list = StepList.from<BuildInputs>()${steps.map((s) => `.then('${s}', ${s})`).join('')};`,
  ].join('\n'));
  const program = ts.createProgram([file], {
    target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true, noEmit: true, allowImportingTsExtensions: true, skipLibCheck: true, types: ['node'],
  });
  return ts.getPreEmitDiagnostics(program, program.getSourceFile(file)).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

describe('the order of build steps is checked by the compiler', () => {
  it('accepts steps after the ones that make what they read', () => {
    expect(errorsOf(['fetchAllPackages', 'unpackRootTree', 'configureAccounts'])).toEqual([]);
  });

  it('refuses a step before the one that makes what it reads', () => {
    const errors = errorsOf(['fetchAllPackages', 'configureAccounts']);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/Property 'tree' is missing/);
  });
});
