/**
 * Reading Debian control data (deb822): paragraphs of "Field: value" lines, continuation lines start
 * with white space, paragraphs are separated by blank lines.
 */
export type Paragraph = Map<string, string>;

/** Parses every paragraph. */
export function parseDeb822(text: string, fields?: ReadonlySet<string>): Paragraph[] {
  return [...eachDeb822(text, fields)];
}

/**
 * The paragraphs one at a time, so a 50 MB Packages index is never 60,000 maps at once (100 MB
 * more at the peak of a build that locks first). When `fields` is given only those fields are
 * kept, which makes reading it several times faster.
 */
export function* eachDeb822(text: string, fields?: ReadonlySet<string>): Generator<Paragraph> {
  let current: Paragraph = new Map();
  let currentField: string | undefined;
  const length = text.length;
  let start = 0;
  while (start < length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = length;
    let lineEnd = end;
    if (lineEnd > start && text.charCodeAt(lineEnd - 1) === 13) lineEnd--; // CRLF
    const first = text.charCodeAt(start);
    if (lineEnd === start || isBlank(text, start, lineEnd)) {
      if (current.size > 0) yield current;
      current = new Map();
      currentField = undefined;
    } else if (first === 32 || first === 9) {
      // A continuation line; only sliced when its field is kept.
      if (currentField !== undefined) current.set(currentField, `${current.get(currentField)}\n${text.slice(start, lineEnd).trim()}`);
    } else {
      const colon = text.indexOf(':', start);
      if (colon <= start || colon > lineEnd) {
        currentField = undefined;
      } else {
        const field = text.slice(start, colon);
        if (fields && !fields.has(field)) {
          currentField = undefined;
        } else {
          current.set(field, text.slice(colon + 1, lineEnd).trim());
          currentField = field;
        }
      }
    }
    start = end + 1;
  }
  if (current.size > 0) yield current;
}

function isBlank(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const code = text.charCodeAt(i);
    if (code !== 32 && code !== 9) return false;
  }
  return true;
}
