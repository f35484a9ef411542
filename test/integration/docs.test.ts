/** What the docs promise stays true of the code. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { baseFacts } from '../../src/hostconfig/facts.ts';
import { parseHostConfig } from '../../src/hostconfig/load.ts';
import { hostConfigJsonSchema } from '../../src/hostconfig/schema.ts';
import { recipeJsonSchema } from '../../src/recipe/schema.ts';
import { REPO_ROOT } from '../helpers/cli.ts';

const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

function topLevelKeys(schema: Record<string, unknown>): string[] {
  return Object.keys((schema as { properties: Record<string, unknown> }).properties);
}

describe('docs', () => {
  it('docs/recipe.schema.json is what `slipway schema` prints', () => {
    const committed = JSON.parse(readFileSync(join(REPO_ROOT, 'docs/recipe.schema.json'), 'utf8')) as unknown;
    expect(committed).toEqual(recipeJsonSchema());
  });

  it('docs/hostconfig.schema.json is what `slipway config schema` prints', () => {
    const committed = JSON.parse(readFileSync(join(REPO_ROOT, 'docs/hostconfig.schema.json'), 'utf8')) as unknown;
    expect(committed).toEqual(hostConfigJsonSchema());
  });

  it('the README documents every top-level recipe key', () => {
    const recipeSection = readme.slice(readme.indexOf('## Recipe reference'), readme.indexOf('## Host config'));
    for (const key of topLevelKeys(recipeJsonSchema())) expect(recipeSection).toMatch(new RegExp(`\\| \`${key}(\\.|\\[|\`)`));
  });

  it('the README documents every top-level host config key, and its example is valid', () => {
    const section = readme.slice(readme.indexOf('## Host config'), readme.indexOf('## Development'));
    for (const key of topLevelKeys(hostConfigJsonSchema())) expect(section).toMatch(new RegExp(`\\| \`${key}(\\.|\\[|\`)`));
    const example = /```yaml\n([\s\S]*?)```/.exec(section)![1]!;
    expect(parseHostConfig(example, 'README', baseFacts()).hostname).toBe('web-1');
  });
});
