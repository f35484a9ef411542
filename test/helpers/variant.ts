/**
 * Test images: the default host with changes. A build is named by the sha256 of everything that
 * decides it (the recipe text, the lockfile resolved for it, the format, the build arguments and
 * the files they and the recipe name, and the code that builds images), and is kept in the shared
 * cache: each distinct image is built once, by the first test file that asks, and every later file
 * of the run (and the next runs, while the code stays the same) boots that build. Builds are
 * shared, so callers only read them: machines boot them through an overlay.
 *
 *   SHARED_CACHE/builds/CODE/KEY/     host.yaml, host.lock.json, inputs/ (files it names), out/
 *   SHARED_CACHE/builds/CODE/locks/   lockfiles by recipe packages and archive release
 *   SHARED_CACHE/builds/CODE/.users/  pids of the processes that use this code's builds
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { basename, join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { fetchRelease, loadIndex } from '../../src/assemble/archive/open.ts';
import { ContentCache } from '../../src/assemble/cache.ts';
import { lockInputsHash, resolveLock, writeLockfile } from '../../src/assemble/lock.ts';
import { archiveSourceOf, loadRecipeOrThrow } from '../../src/pipeline/sources.ts';
import { SHARED_CACHE, tempDir } from './archive.ts';
import { REPO_ROOT, slipway } from './cli.ts';
import { processAlive } from '../../src/shared/process.ts';

export type RecipeChange = (recipe: Record<string, any>) => void;

/** What builds images: the files of these paths that git tracks or would track. */
const CODE_PATHS = ['src', 'runtime', 'bin', 'package-lock.json'];
const BUILDS = join(SHARED_CACHE, 'builds');

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The sha256 of the names and contents of every file that builds images, as the working tree has them now. */
function hashCode(): string {
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z', ...CODE_PATHS], { cwd: REPO_ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
    .split('\0')
    .filter(Boolean);
  const hash = createHash('sha256');
  for (const file of [...new Set(files)].sort()) {
    const path = join(REPO_ROOT, file);
    const stat = existsSync(path) ? lstatSync(path) : undefined;
    const content = !stat ? 'deleted' : stat.isSymbolicLink() ? `link ${readlinkSync(path)}` : `${stat.mode & 0o111 ? 'x' : '-'} ${sha256(readFileSync(path))}`;
    hash.update(`${file}\0${content}\n`);
  }
  return hash.digest('hex');
}

/** A folder of another code's builds is in use while a process that marked it is alive. */
function inUse(dir: string): boolean {
  const users = join(dir, '.users');
  return existsSync(users) && readdirSync(users).some((pid) => processAlive(Number(pid)));
}

const marked = new Set<string>();
let swept = false;

/**
 * The builds folder of the code as it is now, `builds/<code hash>`, marked as in use by this
 * process. The first call in a process removes builds of other code that no live process uses,
 * and builds left half done by processes that died.
 */
function buildsFolder(code = hashCode()): string {
  const dir = join(BUILDS, code);
  if (!marked.has(code)) {
    mkdirSync(join(dir, '.users'), { recursive: true });
    writeFileSync(join(dir, '.users', String(process.pid)), '');
    marked.add(code);
  }
  if (!swept) {
    for (const name of readdirSync(BUILDS)) {
      const other = join(BUILDS, name);
      if (!statSync(other).isDirectory()) continue;
      if (!marked.has(name) && !inUse(other)) rmSync(other, { recursive: true, force: true });
      else {
        for (const entry of readdirSync(other)) {
          const partial = /^\.partial-(\d+)-/.exec(entry);
          if (partial && !processAlive(Number(partial[1]))) rmSync(join(other, entry), { recursive: true, force: true });
        }
      }
    }
    swept = true;
  }
  return dir;
}

/**
 * Copies a file the build reads into `inputs/` of the build folder, named by its content, and
 * returns its name there: recipes and arguments then name their files the same way wherever
 * they came from, and the build folder holds everything it was built from.
 */
function bringInput(file: string, folder: string): string {
  const content = readFileSync(file);
  const name = join('inputs', sha256(content).slice(0, 16), basename(file));
  mkdirSync(join(folder, name, '..'), { recursive: true });
  writeFileSync(join(folder, name), content);
  return name;
}

/** Every file a recipe names (relative to recipes/, where host.yaml lives), brought into the folder and named by its copy. */
function bringRecipeInputs(recipe: Record<string, any>, folder: string): void {
  const bring = (path: string) => bringInput(resolve(REPO_ROOT, 'recipes', path), folder);
  if (recipe.distribution?.keyring) recipe.distribution.keyring = bring(recipe.distribution.keyring);
  if (recipe.update?.trustedRoot) recipe.update.trustedRoot = bring(recipe.update.trustedRoot);
  for (const file of recipe.files ?? []) if (file.source) file.source = bring(file.source);
  for (const container of recipe.containers ?? []) if (container.image?.archive) container.image.archive = bring(container.image.archive);
}

/**
 * The lockfile for the recipe in `folder`, resolved as `slipway build` would resolve it against
 * the archive's current release; kept per release, so a warm run opens no package index.
 */
async function writeLock(folder: string, builds: string): Promise<string> {
  const loaded = loadRecipeOrThrow(join(folder, 'host.yaml'));
  const source = archiveSourceOf(loaded, undefined);
  const cache = new ContentCache(SHARED_CACHE);
  const release = await fetchRelease(source);
  const locks = join(builds, 'locks');
  const saved = join(locks, `${sha256(JSON.stringify([lockInputsHash(loaded.recipe), source.mirror, release.codename, release.date]))}.json`);
  if (!existsSync(saved)) {
    mkdirSync(locks, { recursive: true });
    writeLockfile(saved, resolveLock(loaded.recipe, { source, release, index: await loadIndex(source, release, cache) }));
  }
  copyFileSync(saved, join(folder, 'host.lock.json'));
  return readFileSync(saved, 'utf8');
}

/**
 * A folder beside this code's builds, made once by `make` in a staging sibling and renamed into
 * place when it is done; shared like the builds, so read it only.
 */
export async function sharedFolder(name: string, make: (dir: string) => Promise<void>): Promise<string> {
  const builds = buildsFolder();
  const final = join(builds, name);
  if (existsSync(final)) return final;
  const staging = mkdtempSync(join(builds, `.partial-${process.pid}-`));
  chmodSync(staging, 0o755);
  try {
    await make(staging);
    renameSync(staging, final);
  } catch (error) {
    if (!existsSync(final)) throw error;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return final;
}

const building = new Map<string, Promise<{ image: string; dir: string }>>();

/**
 * Builds the default host, changed, with the debug shell; returns the image and the build folder
 * (host.yaml, host.lock.json, inputs/, out/). `extraArgs` go to slipway build; a file one names is
 * read from a copy in the build folder. The folder is shared: never write into it.
 */
export async function buildVariant(change: RecipeChange, format = 'raw', extraArgs: string[] = []): Promise<{ image: string; dir: string }> {
  const started = performance.now();
  const recipe = parse(readFileSync(join(REPO_ROOT, 'recipes/host.yaml'), 'utf8')) as Record<string, any>;
  recipe.debug = { shell: true };
  change(recipe);
  const code = hashCode();
  const folder = buildsFolder(code);
  const staging = mkdtempSync(join(folder, `.partial-${process.pid}-`));
  chmodSync(staging, 0o755);
  try {
    bringRecipeInputs(recipe, staging);
    const text = stringify(recipe);
    writeFileSync(join(staging, 'host.yaml'), text);
    const lock = await writeLock(staging, folder);
    const args = extraArgs.map((arg) => {
      const path = resolve(REPO_ROOT, arg);
      return !arg.startsWith('-') && existsSync(path) && statSync(path).isFile() ? bringInput(path, staging) : arg;
    });
    const key = sha256(JSON.stringify({ recipe: text, lock, format, args, sourceDateEpoch: process.env.SOURCE_DATE_EPOCH ?? null }));
    // A list of formats (raw,netboot) returns the first as the image.
    const imageName = `${recipe.name}_${recipe.version}.${format.split(',')[0]}`;
    const final = join(folder, key);
    if (!existsSync(join(final, 'out', imageName))) {
      let pending = building.get(final);
      if (!pending) {
        pending = build(staging, final, code, imageName, format, args);
        building.set(final, pending);
        pending.catch(() => building.delete(final));
      }
      return await pending;
    }
    process.stderr.write(`slipway-test: ${imageName} ${key.slice(0, 12)} was built before; ready in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    return { image: join(final, 'out', imageName), dir: final };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Builds in the staging folder, then moves the finished build to its name in one rename. */
async function build(staging: string, final: string, code: string, imageName: string, format: string, args: string[]): Promise<{ image: string; dir: string }> {
  const started = performance.now();
  const buildArgs = args.map((arg) => (arg.startsWith('inputs/') ? join(staging, arg) : arg));
  const result = await slipway(['build', join(staging, 'host.yaml'), '--out', join(staging, 'out'), '--cache', SHARED_CACHE, '--format', format, ...buildArgs]);
  if (result.exitCode !== 0) throw new Error(`build failed:\n${result.stderr}`);
  if (!existsSync(join(staging, 'out', imageName))) throw new Error(`no ${imageName} in ${join(staging, 'out')}`);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (hashCode() !== code) {
    // The code changed during the build: it is this caller's alone, not shared.
    const own = join(tempDir('variant'), 'build');
    renameSync(staging, own);
    process.stderr.write(`slipway-test: built ${imageName} in ${seconds} s, not shared: the code changed while it was built\n`);
    return { image: join(own, 'out', imageName), dir: own };
  }
  try {
    renameSync(staging, final);
  } catch (error) {
    // Another process finished the same build first: keep its folder, which holds the same image.
    if (!['ENOTEMPTY', 'EEXIST'].includes((error as NodeJS.ErrnoException).code ?? '') || !existsSync(join(final, 'out', imageName))) throw error;
  }
  process.stderr.write(`slipway-test: built ${imageName} in ${seconds} s as ${basename(final).slice(0, 12)}\n`);
  return { image: join(final, 'out', imageName), dir: final };
}

/** A port nothing listens on right now, on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}
