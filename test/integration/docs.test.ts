/** What the docs promise stays true of the code. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recipeJsonSchema } from '../../src/recipe/schema.ts';
import { REPO_ROOT } from '../helpers/cli.ts';

describe('docs', () => {
  it('docs/recipe.schema.json is what `slipway schema` prints', () => {
    const committed = JSON.parse(readFileSync(join(REPO_ROOT, 'docs/recipe.schema.json'), 'utf8')) as unknown;
    expect(committed).toEqual(recipeJsonSchema());
  });

  it('the README documents every top-level recipe key', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const keys = Object.keys((recipeJsonSchema() as { properties: Record<string, unknown> }).properties);
    for (const key of keys) expect(readme).toMatch(new RegExp(`\\| \`${key}(\\.|\\[|\`)`));
  });
});
