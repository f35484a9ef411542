/**
 * Reading Debian control data (deb822): paragraphs of "Field: value" lines, continuation lines start
 * with white space, paragraphs are separated by blank lines.
 */
export type Paragraph = Map<string, string>;

/**
 * Parses every paragraph. When `fields` is given only those fields are kept, which makes reading a
 * 50 MB Packages index several times faster.
 */
export function parseDeb822(text: string, fields?: ReadonlySet<string>): Paragraph[] {
  const paragraphs: Paragraph[] = [];
  let current: Paragraph = new Map();
  let currentField: string | undefined;
  let start = 0;
  const length = text.length;
  while (start <= length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = length;
    let line = text.slice(start, end);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    start = end + 1;
    if (line.trim() === '') {
      if (current.size > 0) paragraphs.push(current);
      current = new Map();
      currentField = undefined;
      if (end === length) break;
      continue;
    }
    const first = line.charCodeAt(0);
    if (first === 32 || first === 9) {
      if (currentField !== undefined) current.set(currentField, `${current.get(currentField)}\n${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) {
      currentField = undefined;
      continue;
    }
    const field = line.slice(0, colon);
    if (fields && !fields.has(field)) {
      currentField = undefined;
      continue;
    }
    current.set(field, line.slice(colon + 1).trim());
    currentField = field;
    if (end === length) break;
  }
  if (current.size > 0) paragraphs.push(current);
  return paragraphs;
}
