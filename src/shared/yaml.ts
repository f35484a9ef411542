/**
 * Reading YAML (JSON is YAML too) that someone else wrote, within limits named when they are reached:
 * the document's size, how many values it holds, how far its aliases expand. The values are counted
 * by the lexer, before the slower parse, and duplicate keys are found in one pass over each mapping
 * (the yaml package's own check compares every key with every other: 120,000 keys took minutes).
 */
import { readFileSync, statSync } from 'node:fs';
import { CST, isScalar, Lexer, LineCounter, parseDocument, visit } from 'yaml';
import { errorMessage } from '../errors.ts';

export const MAX_DOCUMENT_BYTES = 16 * 1024 ** 2;
/** Keys, values and items; the default recipe has about 150, a large host config a few thousand. */
export const MAX_VALUES = 100_000;
export const MAX_ALIAS_COUNT = 100;

export type YamlRead = { ok: true; value: unknown } | { ok: false; problems: string[]; hint: string };

const VALUE_TOKENS = new Set(['scalar', 'single-quoted-scalar', 'double-quoted-scalar', 'block-scalar', 'flow-map-start', 'flow-seq-start', 'seq-item-ind', 'alias']);

function countValues(text: string, limit: number): number {
  let values = 0;
  for (const token of new Lexer().lex(text)) {
    if (VALUE_TOKENS.has(CST.tokenType(token) ?? '') && ++values > limit) break;
  }
  return values;
}

export function readYaml(text: string): YamlRead {
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_DOCUMENT_BYTES) {
    return { ok: false, problems: [`${bytes} bytes, more than the ${MAX_DOCUMENT_BYTES / 1024 ** 2} MiB a document may have`], hint: 'give large contents as files beside it (a recipe\'s files[].source)' };
  }
  if (countValues(text, MAX_VALUES) > MAX_VALUES) {
    return { ok: false, problems: [`more than ${MAX_VALUES} keys and values, the most a document may have`], hint: 'a recipe or host config needs far fewer: is it the file you meant?' };
  }
  const lines = new LineCounter();
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: false, lineCounter: lines });
  const problems = document.errors.map((error) => {
    const where = error.linePos?.[0];
    const message = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    return `${where ? `line ${where.line}, column ${where.col}` : 'YAML'}: ${message}`;
  });
  visit(document, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        if (seen.has(key)) {
          const where = lines.linePos((pair.key as { range?: [number] } | null)?.range?.[0] ?? 0);
          problems.push(`line ${where.line}, column ${where.col}: Map keys must be unique`);
        }
        seen.add(key);
      }
    },
  });
  if (problems.length > 0) return { ok: false, problems, hint: 'fix the YAML syntax at the place named' };
  try {
    // yaml counts alias expansions against the document's size, so a billion laughs stops early.
    return { ok: true, value: document.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) };
  } catch (cause) {
    return { ok: false, problems: [errorMessage(cause)], hint: 'define each anchor (&name) before its aliases (*name), and expand fewer aliases' };
  }
}

/** A document's text from a regular file no larger than a document may be (a FIFO or /dev/zero would never end). */
export function readDocumentFile(path: string): Buffer {
  const stat = statSync(path);
  if (!stat.isFile()) throw new Error('not a regular file');
  if (stat.size > MAX_DOCUMENT_BYTES) throw new Error(`${stat.size} bytes, more than the ${MAX_DOCUMENT_BYTES / 1024 ** 2} MiB a document may have`);
  return readFileSync(path);
}
