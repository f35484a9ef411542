import { recipeJsonSchema } from '../../recipe/schema.ts';
import type { Command } from '../command.ts';

export const schemaCommand: Command = {
  name: 'schema',
  summary: 'print the recipe format as JSON Schema (for editor completion)',
  usage: '',
  options: {},
  positionals: { min: 0, max: 0 },
  async run({ out }) {
    out(`${JSON.stringify(recipeJsonSchema(), null, 2)}\n`);
  },
};
