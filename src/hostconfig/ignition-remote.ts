/**
 * What an Ignition config names by URL: `ignition.config.replace` (that config instead of this one),
 * `ignition.config.merge` (configs merged over this one, in order) and `storage.files[].contents`.
 * Rendered as Ignition renders a config before applying it (spec v3; its config_fetcher.go and
 * config/merge): a replacing config is rendered in turn and used alone; each merged config is
 * rendered, then merged over what came before. Keyed lists merge entries with the same key field by
 * field, the child winning (files by path, units and drop-ins by name, users by name, HTTP headers by
 * name, where a header without a value takes the parent's away); lists of strings (ssh keys, groups)
 * keep each value once, in order; other values are the child's when it sets them.
 *
 * data: references are rendered anywhere (a Butane `local:` or `inline:` merge is one), so the build
 * host checks and compiles such configs whole; http(s) ones only by the host at first boot. Bounded:
 * at most 10 configs referenced, nested at most 5 deep, and what they bring in at most the 16 MiB a
 * host config may be.
 */
import { formatIssues } from '../recipe/load.ts';
import { decodeDataUrl, IgnitionProblem, ignitionSchema, inflate, isIgnition, isRemote, MAX_INFLATED_BYTES, verify, type IgnitionConfig, type IgnitionResource } from './ignition.ts';

/** Fetches a URL with the headers a resource names; throws when it cannot (the caller bounds retries and size). */
export type Fetch = (url: string, headers: Record<string, string>) => Promise<Buffer>;

/** An http(s) source rendering needs: the URL, the headers to send, and where the config names it. */
interface Needed {
  url: string;
  headers: Record<string, string>;
  at: string;
}

/** Renders a config: yields each http(s) source it needs and is given its bytes, or undefined when there are none to have (offline). */
type Rendering<T> = Generator<Needed, T, Buffer | undefined>;

const MAX_CONFIGS = 10;
const MAX_DEPTH = 5;

/** The field that tells a keyed list's entries apart, by the list's place (Ignition's Key() methods). */
const LIST_KEYS: Record<string, string> = {
  'passwd.users': 'name',
  'storage.files': 'path',
  'storage.files.contents.httpHeaders': 'name',
  'systemd.units': 'name',
  'systemd.units.dropins': 'name',
};

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Ignition's merge of a child's value over its parent's, at `place` (object keys joined by dots). */
function merged(parent: unknown, child: unknown, place: string): unknown {
  if (child === undefined || child === null) return parent;
  if (parent === undefined || parent === null) return child;
  if (Array.isArray(parent) && Array.isArray(child)) return mergedList(parent, child, place);
  if (isRecord(parent) && isRecord(child)) {
    const result = { ...parent };
    for (const [name, value] of Object.entries(child)) result[name] = merged(parent[name], value, place ? `${place}.${name}` : name);
    return result;
  }
  return child;
}

function mergedList(parent: unknown[], child: unknown[], place: string): unknown[] {
  const field = LIST_KEYS[place];
  if (!field && child.some(isRecord)) return [...parent, ...child];
  const keyOf = (entry: unknown) => (isRecord(entry) ? entry[field!] : entry);
  const overrides = new Map(child.map((entry) => [keyOf(entry), entry]));
  const result: unknown[] = [];
  for (const entry of parent) {
    if (!overrides.has(keyOf(entry))) {
      result.push(entry);
      continue;
    }
    const override = overrides.get(keyOf(entry));
    if (place.endsWith('httpHeaders') && isRecord(override) && override.value == null) continue;
    result.push(isRecord(entry) ? merged(entry, override, place) : override);
  }
  const inParent = new Set(parent.map(keyOf));
  return [...result, ...child.filter((entry) => !inParent.has(keyOf(entry)))];
}

function headersOf(resource: IgnitionResource): Record<string, string> {
  return Object.fromEntries((resource.httpHeaders ?? []).filter((header) => header.value != null).map((header) => [header.name, header.value!]));
}

const withoutReferences = (config: IgnitionConfig): IgnitionConfig => {
  const { config: _references, ...ignition } = config.ignition;
  return { ...config, ignition };
};

/** How a source is named in a problem: a data: URL may be long, and may hold secrets. */
const named = (source: string) => (isRemote(source) ? source : 'a data: URL');

class Budget {
  configs = 0;
  bytes = 0;

  /** Counts what a source brought in against the 16 MiB a host config may be. */
  take(bytes: Buffer, at: string): Buffer {
    this.bytes += bytes.length;
    if (this.bytes > MAX_INFLATED_BYTES) throw new IgnitionProblem(at, `what the config fetches passes ${MAX_INFLATED_BYTES / 1024 ** 2} MiB, the most a host config may be`);
    return bytes;
  }
}

/** A source's bytes as served (before decompression), or undefined when an http(s) source cannot be had yet. */
function* sourceBytes(resource: IgnitionResource, at: string, budget: Budget): Rendering<Buffer | undefined> {
  const source = resource.source!;
  if (!isRemote(source)) return decodeDataUrl(source, `${at}.source`);
  const bytes = yield { url: source, headers: headersOf(resource), at: `${at}.source` };
  return bytes && budget.take(bytes, `${at}.source`);
}

/** A referenced config's document: JSON, an Ignition config of the subset; problems name it by `where`. */
function parsedReference(bytes: Buffer, where: string): IgnitionConfig {
  let document: unknown;
  try {
    document = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new IgnitionProblem(where, 'not a JSON Ignition config');
  }
  if (!isIgnition(document)) throw new IgnitionProblem(where, 'not an Ignition config (it has no ignition.version)');
  const parsed = ignitionSchema().safeParse(document);
  if (parsed.success) return parsed.data;
  const [first, ...more] = formatIssues(parsed.error.issues).map((line) => {
    const colon = line.indexOf(': ');
    return { path: `${where}: ${line.slice(0, colon)}`, message: line.slice(colon + 2) };
  });
  throw new IgnitionProblem(first!.path, first!.message, more);
}

/** The config `reference` names, rendered, or undefined offline; `at` is where the parent names it. */
function* referencedConfig(reference: IgnitionResource, at: string, depth: number, budget: Budget): Rendering<IgnitionConfig | undefined> {
  if (++budget.configs > MAX_CONFIGS) throw new IgnitionProblem(at, `more than ${MAX_CONFIGS} configs merged or replaced in all, the most slipway renders`);
  if (depth >= MAX_DEPTH) throw new IgnitionProblem(at, `configs nested more than ${MAX_DEPTH} deep`);
  const served = yield* sourceBytes(reference, at, budget);
  if (!served) return undefined;
  const bytes = reference.compression === 'gzip' ? budget.take(inflate(served, at), at) : served;
  // Spec v3 (configuration-v3_4.md, ignition.config.*.verification.hash): "If compression is specified, the hash describes the decompressed config."
  if (reference.verification?.hash) verify(bytes, reference.verification.hash, at);
  const where = `${at} (${named(reference.source!)})`;
  const child = parsedReference(bytes, where);
  try {
    return yield* rendered(child, depth + 1, budget);
  } catch (error) {
    throw error instanceof IgnitionProblem ? error.within(where) : error;
  }
}

/** A config with its replace or merges applied, without ignition.config. */
function* rendered(config: IgnitionConfig, depth: number, budget: Budget): Rendering<IgnitionConfig> {
  const { replace, merge = [] } = config.ignition.config ?? {};
  if (replace?.source) {
    // Offline, the replacing config is not known: nothing of this one is used.
    return (yield* referencedConfig(replace, 'ignition.config.replace', depth, budget)) ?? { ignition: { version: config.ignition.version } };
  }
  let result = withoutReferences(config);
  for (const [index, reference] of merge.entries()) {
    const child = yield* referencedConfig(reference, `ignition.config.merge[${index}]`, depth, budget);
    if (child) result = merged(result, child, '') as IgnitionConfig;
  }
  return result;
}

/** The whole rendering: configs first, then each http(s) file source, as a data: URL of what it served. */
function* renderedWithFiles(config: IgnitionConfig): Rendering<IgnitionConfig> {
  const budget = new Budget();
  const result = yield* rendered(config, 0, budget);
  if (!result.storage) return result;
  const files = [];
  for (const [index, file] of result.storage.files.entries()) {
    const source = file.contents?.source;
    const served = source && isRemote(source) ? yield* sourceBytes(file.contents!, `storage.files[${index}].contents`, budget) : undefined;
    if (!served) {
      files.push(file);
      continue;
    }
    const { httpHeaders: _sent, ...contents } = file.contents!;
    files.push({ ...file, contents: { ...contents, source: `data:;base64,${served.toString('base64')}` } });
  }
  return { ...result, storage: { ...result.storage, files } };
}

/**
 * The config as far as it can be rendered without a network: data: references applied, http(s) ones
 * left out (the host fetches them at first boot). What `slipway config validate` and a plan compiled
 * ahead see; for a config with data: sources only, exactly what the host applies.
 */
export function renderIgnitionOffline(config: IgnitionConfig): IgnitionConfig {
  const rendering = renderedWithFiles(config);
  for (let step = rendering.next(); ; step = rendering.next(undefined)) if (step.done) return step.value;
}

/** The URLs a config still needs fetched, once each: configs to merge or replace, and file contents. */
export function ignitionRemoteSources(config: IgnitionConfig): string[] {
  const urls = new Set<string>();
  const rendering = renderedWithFiles(config);
  for (let step = rendering.next(); !step.done; step = rendering.next(undefined)) urls.add(step.value.url);
  return [...urls];
}

/**
 * An equivalent config with nothing left to fetch: ignition.config applied and removed, and every
 * http(s) file source replaced by a data: URL of what it served (compression and hash kept, so
 * fromIgnition inflates and checks it as it does any file). Fetches one at a time, in order.
 */
export async function resolveIgnitionRemotes(config: IgnitionConfig, fetch: Fetch): Promise<IgnitionConfig> {
  const rendering = renderedWithFiles(config);
  for (let step = rendering.next(); ; ) {
    if (step.done) return step.value;
    const { url, headers, at } = step.value;
    let bytes: Buffer;
    try {
      bytes = await fetch(url, headers);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new IgnitionProblem(at, `cannot fetch ${reason.startsWith(url) ? reason : `${url}: ${reason}`}`);
    }
    if (bytes.length > MAX_INFLATED_BYTES) throw new IgnitionProblem(at, `${url} served more than ${MAX_INFLATED_BYTES / 1024 ** 2} MiB`);
    step = rendering.next(bytes);
  }
}
