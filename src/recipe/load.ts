import { readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import type { z } from 'zod';
import { RecipeError, errorMessage } from '../errors.ts';
import { RecipeSchema, type Recipe } from './schema.ts';
import { readDocumentFile, readYaml } from '../shared/yaml.ts';

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
      const named = issue.keys.slice(0, 10).map((key) => JSON.stringify(key)).join(', ');
      const keys = issue.keys.length > 10 ? `${named} and ${issue.keys.length - 10} more` : named;
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
  const read = readYaml(text);
  if (!read.ok) return { ok: false, error: new RecipeError(read.problems.map((problem) => `${fileLabel}: ${problem}`).join('\n'), read.hint) };
  const parsed = schema.safeParse(read.value ?? {});
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
    text = readDocumentFile(path).toString('utf8');
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

/**
 * A file the recipe names (`files[].source`, an image archive), read only from inside the
 * recipe's folder: the schema refuses absolute paths and `..`, this refuses a symlink that leads
 * out, and anything but a regular file (a FIFO would block the build).
 */
export function readRecipeFile(loaded: LoadedRecipe, relative: string, what: string): Buffer {
  const hint = 'put the file inside the recipe\'s folder and give its path relative to the recipe';
  let folder: string;
  let real: string;
  try {
    folder = realpathSync(loaded.dir);
    real = realpathSync(resolve(folder, relative));
  } catch (cause) {
    throw new RecipeError(`${what}: cannot read ${relative}: ${errorMessage(cause)}`, hint, { cause });
  }
  if (!real.startsWith(`${folder}${sep}`)) throw new RecipeError(`${what}: ${relative} leads outside the recipe's folder (to ${real})`, hint);
  if (!statSync(real).isFile()) throw new RecipeError(`${what}: ${relative} is not a regular file`, hint);
  return readFileSync(real);
}
