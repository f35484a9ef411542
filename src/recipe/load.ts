import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { RecipeError, errorMessage } from '../errors.ts';
import { RecipeSchema, type Recipe } from './schema.ts';

export interface LoadedRecipe {
  recipe: Recipe;
  /** Absolute path of the recipe file. */
  path: string;
  /** The folder relative paths in the recipe are read from. */
  dir: string;
}

export type Result<T, E = Error> = { ok: true; value: T } | { ok: false; error: E };

/** `containers[1].image` */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out || '(top level)';
}

export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.map((key) => JSON.stringify(key)).join(', ');
      return `${formatIssuePath(issue.path)}: unknown key${issue.keys.length > 1 ? 's' : ''} ${keys}`;
    }
    return `${formatIssuePath(issue.path)}: ${issue.message}`;
  });
}

/** Parses YAML text into a validated value; every problem is reported at once, each with its path. */
export function parseYamlWith<S extends z.ZodType>(
  schema: S,
  text: string,
  fileLabel: string,
  hint: string,
): Result<z.output<S>, RecipeError> {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    const problems = document.errors.map((error) => {
      const where = error.linePos?.[0];
      const at = where ? `line ${where.line}, column ${where.col}` : 'YAML';
      const message = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      return `${fileLabel}: ${at}: ${message}`;
    });
    return { ok: false, error: new RecipeError(problems.join('\n'), 'fix the YAML syntax at the place named') };
  }
  const parsed = schema.safeParse(document.toJS() ?? {});
  if (!parsed.success) {
    const problems = formatIssues(parsed.error.issues).map((line) => `${fileLabel}: ${line}`);
    return { ok: false, error: new RecipeError(problems.join('\n'), hint) };
  }
  return { ok: true, value: parsed.data };
}

export function parseRecipe(text: string, fileLabel: string): Result<Recipe, RecipeError> {
  return parseYamlWith(RecipeSchema, text, fileLabel, "see the recipe reference in the README, or run 'slipway schema'");
}

export function loadRecipe(file: string): Result<LoadedRecipe, RecipeError> {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    return {
      ok: false,
      error: new RecipeError(`cannot read recipe ${file}: ${errorMessage(cause)}`, 'check the path', { cause }),
    };
  }
  const parsed = parseRecipe(text, file);
  if (!parsed.ok) return parsed;
  return { ok: true, value: { recipe: parsed.value, path, dir: dirname(path) } };
}
