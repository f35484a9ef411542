/**
 * What an Ignition config names by URL, fetched by the host at first boot: `ignition.config.replace`
 * (that config instead of this one), `ignition.config.merge` (configs merged over this one, in order)
 * and `storage.files[].contents.source`. Ignition's spec v3: a merged config's keyed lists (files by
 * path, units by name, their drop-ins by name, users by name) merge entries with the same key field
 * by field, the child winning; other lists are appended to; other values are the child's. A hash
 * is of the contents after decompression, as for files. Bounded: at most 10 configs fetched, nested
 * at most 5 deep, and what is fetched counts against the 16 MiB a host config may be.
 */
import { decodeDataUrl, IgnitionProblem, ignitionSchema, inflate, isRemote, verify, type IgnitionConfig, type IgnitionResource } from './ignition.ts';

/** Fetches a URL with the headers a resource names; throws when it cannot (the caller bounds retries and size). */
export type Fetch = (url: string, headers: Record<string, string>) => Promise<Buffer>;

const MAX_CONFIGS = 10;
const MAX_DEPTH = 5;
const MAX_TOTAL_BYTES = 16 * 1024 ** 2;

/** The URLs a config still needs fetched: configs to merge or replace, and file contents. */
export function ignitionRemoteSources(config: IgnitionConfig): string[] {
  const { merge = [], replace } = config.ignition.config ?? {};
  const sources = [...(replace ? [replace] : []), ...merge, ...(config.storage?.files ?? []).map((file) => file.contents ?? {})]
    .map((resource) => resource.source)
    .filter((source): source is string => typeof source === 'string' && isRemote(source));
  return [...new Set(sources)];
}

const KEYS: Record<string, string> = { files: 'path', units: 'name', dropins: 'name', users: 'name' };

/** Ignition's merge of a child config's value over its parent's (the child wins; keyed lists merge by key). */
function merged(parent: unknown, child: unknown, field?: string): unknown {
  if (child === undefined || child === null) return parent;
  if (Array.isArray(parent) && Array.isArray(child)) {
    const key = field ? KEYS[field] : undefined;
    if (!key) return [...parent, ...child];
    const result = [...parent] as Array<Record<string, unknown>>;
    for (const entry of child as Array<Record<string, unknown>>) {
      const at = result.findIndex((existing) => existing[key] === entry[key]);
      if (at >= 0) result[at] = merged(result[at], entry) as Record<string, unknown>;
      else result.push(entry);
    }
    return result;
  }
  if (parent && child && typeof parent === 'object' && typeof child === 'object' && !Array.isArray(parent) && !Array.isArray(child)) {
    const result: Record<string, unknown> = { ...(parent as Record<string, unknown>) };
    for (const [name, value] of Object.entries(child as Record<string, unknown>)) result[name] = merged(result[name], value, name);
    return result;
  }
  return child;
}

function headersOf(resource: IgnitionResource): Record<string, string> {
  return Object.fromEntries((resource.httpHeaders ?? []).filter((header) => header.value != null).map((header) => [header.name, header.value!]));
}

class Budget {
  configs = 0;
  bytes = 0;

  take(bytes: Buffer, at: string): Buffer {
    this.bytes += bytes.length;
    if (this.bytes > MAX_TOTAL_BYTES) throw new IgnitionProblem(at, `what the config fetches passes ${MAX_TOTAL_BYTES / 1024 ** 2} MiB, the most a host config may be`);
    return bytes;
  }
}

/** A resource's contents: fetched (or decoded from data:), inflated, and checked against its hash. */
async function contentsOf(resource: IgnitionResource, at: string, fetch: Fetch, budget: Budget): Promise<Buffer> {
  const source = resource.source!;
  let bytes: Buffer;
  if (isRemote(source)) {
    try {
      bytes = budget.take(await fetch(source, headersOf(resource)), at);
    } catch (error) {
      if (error instanceof IgnitionProblem) throw error;
      throw new IgnitionProblem(`${at}.source`, `cannot fetch ${source}: ${error instanceof Error ? error.message : String(error)}`);
    }
  } else {
    bytes = decodeDataUrl(source, `${at}.source`);
  }
  if (resource.compression === 'gzip') bytes = inflate(bytes, at);
  const hash = resource.verification?.hash;
  if (hash) verify(bytes, hash, at.replace(/\.contents$/, ''));
  return bytes;
}

/** A fetched config, read and checked as Ignition; problems name where it came from. */
function parseFetched(bytes: Buffer, at: string, source: string): IgnitionConfig {
  let document: unknown;
  try {
    document = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new IgnitionProblem(at, `${source} is not a JSON Ignition config`);
  }
  const parsed = ignitionSchema().safeParse(document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new IgnitionProblem(at, `${source}: ${issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') || '(top level)'}: ${issue.message}`);
  }
  return parsed.data;
}

/** The config with its replace and merges applied (recursively), and without ignition.config. */
async function resolveConfigs(config: IgnitionConfig, fetch: Fetch, budget: Budget, depth: number, where: string): Promise<IgnitionConfig> {
  const references = config.ignition.config ?? {};
  const fetchConfig = async (resource: IgnitionResource, at: string): Promise<IgnitionConfig> => {
    if (++budget.configs > MAX_CONFIGS) throw new IgnitionProblem(at, `more than ${MAX_CONFIGS} configs to fetch, the most a host config may name`);
    if (depth >= MAX_DEPTH) throw new IgnitionProblem(at, `configs nested more than ${MAX_DEPTH} deep`);
    const child = parseFetched(await contentsOf(resource, at, fetch, budget), at, resource.source ?? '');
    return resolveConfigs(child, fetch, budget, depth + 1, `${at} (${resource.source})`);
  };
  const prefix = where ? `${where}: ` : '';
  if (references.replace?.source) return fetchConfig(references.replace, `${prefix}ignition.config.replace`);
  let result: IgnitionConfig = { ...config, ignition: { ...config.ignition, config: undefined } };
  for (const [index, resource] of (references.merge ?? []).entries()) {
    if (!resource.source) continue;
    const child = await fetchConfig(resource, `${prefix}ignition.config.merge[${index}]`);
    result = merged(result, { ...child, ignition: { ...child.ignition, config: undefined } }) as IgnitionConfig;
  }
  return result;
}

/**
 * An equivalent config with nothing left to fetch: ignition.config applied and removed, and every
 * http(s) file source replaced by a data: URL of what it served (compression and hash kept, so
 * fromIgnition inflates and checks it as it does any file).
 */
export async function resolveIgnitionRemotes(config: IgnitionConfig, fetch: Fetch): Promise<IgnitionConfig> {
  const budget = new Budget();
  const resolved = await resolveConfigs(config, fetch, budget, 0, '');
  const files = await Promise.all(
    (resolved.storage?.files ?? []).map(async (file, index) => {
      const source = file.contents?.source;
      if (!source || !isRemote(source)) return file;
      const at = `storage.files[${index}].contents`;
      let bytes: Buffer;
      try {
        bytes = budget.take(await fetch(source, headersOf(file.contents!)), at);
      } catch (error) {
        if (error instanceof IgnitionProblem) throw error;
        throw new IgnitionProblem(`${at}.source`, `cannot fetch ${source}: ${error instanceof Error ? error.message : String(error)}`);
      }
      return { ...file, contents: { ...file.contents, source: `data:;base64,${bytes.toString('base64')}` } };
    }),
  );
  return resolved.storage ? { ...resolved, storage: { ...resolved.storage, files } } : resolved;
}
