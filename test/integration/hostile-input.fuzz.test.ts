/**
 * Hostile input, generated. fast-check mutates the default recipe and two host configs (slipway's
 * own format and Ignition) with values that try to leave the recipe's folder, add lines to the files
 * slipway generates, or exhaust memory, and runs each through the real command line, in-process:
 * `build --dry-run`, `config validate` and `config compile`. Around the throwaway folder the commands
 * work in lie canary files. For every case: no stack trace, no exit 70, nothing outside the allowed
 * folders created, changed or removed, no line of a generated file that a value broke into, and the
 * process stays under 512 MiB.
 *
 * A fixed seed makes CI's cases the same every run: 1,000 per property, about 4 minutes in all
 * (mostly the dry runs that get as far as the packages: each reads the cached tree). FUZZ_RUNS
 * (cases per property) and FUZZ_SEED run more, or others; FUZZ_TRACE=FILE keeps the input of the
 * case under way in FILE, to find one that hangs.
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { containerUnit } from '../../src/recipe/container-units.ts';
import { Accounts, applyRecipeUsers, writeAccounts } from '../../src/assemble/configure/users.ts';
import { readTarFiles } from '../../src/shared/tar.ts';
import { Tree } from '../../src/assemble/tree.ts';
import { main } from '../../src/cli/main.ts';
import { planPath } from '../../src/hostconfig/compile.ts';
import type { ManifestFacts } from '../../src/hostconfig/facts.ts';
import { loadRecipe } from '../../src/recipe/load.ts';
import { SHARED_CACHE, tempDir } from '../helpers/archive.ts';
import { REPO_ROOT, slipway } from '../helpers/cli.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 1000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const MEMORY_LIMIT = 512 * 1024 ** 2;
const GARBAGE_LIMIT = 256 * 1024 ** 2;
/** Only ever found after a line break a value smuggled in: no declared field starts a line with it. */
const MARKER = 'SLIPWAY_INJECTED';
const INTERNAL_ERROR = 70;

let sandbox: string;
let recipeDir: string;
let configDir: string;
let before: Map<string, string>;
let peakRss = 0;
let cwd: string;
let accountsDir: string;

/** Everything below the sandbox but the folders the commands may write and the inputs each case writes. */
function snapshot(): Map<string, string> {
  const entries = new Map<string, string>();
  const allowed = new Set(['config/plan', 'recipe/host.yaml', 'config/host.yaml', 'config/host.ign']);
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const key = relative(sandbox, path);
      if (allowed.has(key)) continue;
      const stat = lstatSync(path);
      // A folder's own times change as the allowed entries in it come and go; what it holds is listed.
      const content = stat.isFile() ? `${stat.size} ${stat.mtimeMs} ${createHash('sha256').update(readFileSync(path)).digest('hex')}` : '';
      entries.set(key, `${stat.mode} ${content}`);
      if (stat.isDirectory()) walk(path);
    }
  };
  walk(sandbox);
  return entries;
}

/** Runs the command line in this process and returns what it printed. */
async function run(args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  // Most cases never wait for I/O, so their awaits only run microtasks: without a turn of the event
  // loop now and then, vitest's worker never reads its runner's replies and fails the run after 60 s.
  await new Promise((resolve) => setImmediate(resolve));
  if (process.env.FUZZ_TRACE) writeFileSync(process.env.FUZZ_TRACE, `${args.join(' ')}\n${readFileSync(args.includes('build') ? join(recipeDir, 'host.yaml') : args[2]!, 'utf8').slice(0, 100000)}`);
  let stdout = '';
  let stderr = '';
  const { write: writeOut } = process.stdout;
  const { write: writeErr } = process.stderr;
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += chunk.toString()), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += chunk.toString()), true)) as typeof process.stderr.write;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 20);
  try {
    return { exitCode: await main(args), stdout, stderr };
  } finally {
    clearInterval(sampler);
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
    // The peak should be what a case holds, not the garbage of the cases before it that V8 has not
    // yet bothered to collect (a dry run that unpacked leaves a tree's worth).
    if (process.memoryUsage.rss() > GARBAGE_LIMIT) collectGarbage();
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
  }
}

/** How each property's cases ended, by exit code: a generator that only makes refused (or only accepted) input tests little. */
const outcomes = new Map<string, Map<number, number>>();

function count(property: string, exitCode: number): void {
  const codes = outcomes.get(property) ?? new Map<number, number>();
  codes.set(exitCode, (codes.get(exitCode) ?? 0) + 1);
  outcomes.set(property, codes);
}

function expectBothOutcomes(property: string): void {
  const codes = outcomes.get(property)!;
  const total = [...codes.values()].reduce((a, b) => a + b, 0);
  console.log(`${property}: ${total} runs, by exit code ${JSON.stringify(Object.fromEntries([...codes].sort(([a], [b]) => a - b)))}`);
  expect(codes.get(0) ?? 0, property).toBeGreaterThan(total * 0.05);
  expect(total - (codes.get(0) ?? 0), property).toBeGreaterThan(total * 0.05);
}

/** Refused or done, never a crash; a refusal says what and what to do, as text or (with --json) as one JSON line. */
function expectHandled(result: { exitCode: number; stderr: string }, input: string, { json = false } = {}): void {
  expect(result.exitCode, `${result.stderr}\n--- input ---\n${input.slice(0, 2000)}`).not.toBe(INTERNAL_ERROR);
  expect(result.stderr, input.slice(0, 2000)).not.toMatch(/\n\s+at |internal error/);
  if (result.exitCode !== 0 && json) {
    const { error } = JSON.parse(result.stderr) as { error: { code: string; message: string; hint: string } };
    expect(error.code, result.stderr).toMatch(/^[a-z-]+$/);
    expect(error.message.length * error.hint.length, result.stderr).toBeGreaterThan(0);
  } else if (result.exitCode !== 0) expect(result.stderr).toMatch(/^slipway: [^\n]+\n(?:[^]*\n)?hint: /m);
  expect(snapshot(), input.slice(0, 2000)).toEqual(before);
}

function expectNoInjectedLine(file: string, text: string): void {
  const broken = text.split(/\r\n|\r|\n/).find((line) => line.startsWith(MARKER));
  expect(broken, `${file} has a line a value broke into`).toBeUndefined();
}

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

// ---- what the generators draw from ----------------------------------------------------------

const BREAKS = ['\n', '\r', '\r\n', '\u0000', '\u2028', '\t'];
const ESCAPES = () => [
  '../canary.txt', '../../canary.txt', '../'.repeat(30) + 'etc/passwd', '/etc/shadow', join(sandbox, 'canary.txt'), 'escape', 'escape/secret',
  'canary-dir/../../canary.txt', `/etc/x\n/../../../${relative('/', sandbox)}/PWNED`, '/proc/self/mem', '/dev/zero', '.', '', '/',
];
const ODD = ['', ' ', '-', '--help', '%n', '%%', '$HOME', '${PATH}', '`id`', '$(id)', '"', "'", '\\', '*', '?', 'a'.repeat(300), 'ä🙂', '0', '1e9', '-1', 'null', '~', '&a', '*a', '!!binary', '8000TiB', '0MiB', '1e9MiB'];

function injection(): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom('', 'a', 'web', '/etc/x', 'x.service'), fc.constantFrom(...BREAKS), fc.constantFrom(`${MARKER}=1`, `${MARKER}:x:0:0::/:/bin/sh`, `${MARKER} ssh-ed25519 AAAA`, `[Service]\n${MARKER}=1`))
    .map(([head, line, tail]) => `${head}${line}${tail}`);
}

function hostileString(): fc.Arbitrary<string> {
  return fc.oneof(fc.constantFrom(...ESCAPES(), ...ODD), injection(), fc.string({ unit: 'binary', maxLength: 24 }));
}

/** Values a field might well take, so that cases with several edits still get past the schema often enough. */
const PLAUSIBLE = ['ok', 'web2', 'app', '/etc/app/x.conf', '/var/lib/app/data', '0600', 'root', 'sudo', '1.2.3', 'hello.service', 'console=tty0', '512MiB', 'fs.file-max', 8080, true];

function hostileValue(): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...PLAUSIBLE) },
    { weight: 6, arbitrary: hostileString() },
    { weight: 2, arbitrary: fc.constantFrom(-1, 0, 0.5, 65536, 2 ** 53, 1e308, -0) },
    { weight: 1, arbitrary: fc.constantFrom(null, true, [], {}, ['../x'], { '../x': 1 }, [[['deep']]]) },
    { weight: 1, arbitrary: fc.array(hostileString(), { minLength: 1, maxLength: 3 }) },
  );
}

type Path = ReadonlyArray<string | number>;
type Edit = { op: 'set'; path: Path; value: unknown } | { op: 'delete'; path: Path } | { op: 'duplicate'; path: Path } | { op: 'source'; path: Path; value: string };

function edits(paths: readonly Path[], lists: readonly Path[], sources: readonly Path[]): fc.Arbitrary<Edit[]> {
  const edit: fc.Arbitrary<Edit> = fc.oneof(
    { weight: 8, arbitrary: fc.record({ op: fc.constant('set' as const), path: fc.constantFrom(...paths), value: hostileValue() }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), path: fc.constantFrom(...paths) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('duplicate' as const), path: fc.constantFrom(...lists) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('source' as const), path: fc.constantFrom(...sources), value: fc.constantFrom(...ESCAPES(), 'page.html') }) },
  );
  return fc.array(edit, { minLength: 1, maxLength: 3 });
}

/** Values with a line break put where one is allowed: contents are taken as given, a unit's arguments are quoted. */
function injections(paths: readonly Path[]): fc.Arbitrary<Edit[]> {
  return fc.array(fc.record({ op: fc.constant('set' as const), path: fc.constantFrom(...paths), value: injection() as fc.Arbitrary<unknown> }), { minLength: 1, maxLength: 3 });
}

function changes(paths: readonly Path[], lists: readonly Path[], sources: readonly Path[], injectable: readonly Path[]): fc.Arbitrary<Edit[]> {
  return fc.oneof({ weight: 3, arbitrary: edits(paths, lists, sources) }, { weight: 1, arbitrary: injections(injectable) });
}

function applyEdits(base: unknown, changes: readonly Edit[]): unknown {
  const doc = structuredClone(base) as Record<string | number, any>;
  for (const change of changes) {
    let parent: any = doc;
    const last = change.path.at(-1)!;
    change.path.slice(0, -1).forEach((key, i) => {
      // A missing level is made of the kind its own key indexes: `exclude` for ['exclude', 0] is a list.
      if (parent[key] === null || typeof parent[key] !== 'object') parent[key] = typeof change.path[i + 1] === 'number' ? [] : {};
      parent = parent[key];
    });
    if (change.op === 'set') parent[last] = change.value;
    else if (change.op === 'delete') delete parent[last];
    else if (change.op === 'duplicate' && Array.isArray(parent[last])) parent[last].push(structuredClone(parent[last][0]));
    else if (change.op === 'source') {
      parent[last] = change.value;
      delete parent.content;
    }
  }
  return doc;
}

/** Documents no value of the base could become: broken, truncated, explosive. */
let wholeDocuments: string[];

function serialized(doc: fc.Arbitrary<unknown>, json: boolean): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 10, arbitrary: doc.map((value) => (json ? JSON.stringify(value) : stringify(value))) },
    { weight: 2, arbitrary: fc.tuple(doc, fc.double({ min: 0, max: 1, noNaN: true })).map(([value, at]) => { const text = json ? JSON.stringify(value) : stringify(value); return text.slice(0, Math.floor(text.length * at)); }) },
    { weight: 1, arbitrary: fc.constantFrom(...wholeDocuments) },
  );
}

function bombs(): string[] {
  const laughs = ['a: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
  for (let i = 1; i < 9; i++) laughs.push(`a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]`);
  const gzipBomb = gzipSync(Buffer.alloc(24 * 1024 ** 2));
  const ignitionFile = (source: string, extra: object = {}) =>
    JSON.stringify({ ignition: { version: '3.4.0' }, storage: { files: [{ path: '/etc/big', contents: { source, ...extra } }] } });
  return [
    `${laughs.join('\n')}\nname: *a8\n`,
    'name: *nope\n',
    `${'['.repeat(20000)}${']'.repeat(20000)}`,
    `${Array.from({ length: 120000 }, (_, i) => `k${i}: 1`).join('\n')}\n`,
    ignitionFile(`data:;base64,${gzipBomb.toString('base64')}`, { compression: 'gzip' }),
    ignitionFile(`data:;base64,${'QUFB'.repeat(5 * 1024 ** 2)}`),
    ignitionFile('data:,%FF%FE', { verification: { hash: `sha512-${'0'.repeat(128)}` } }),
    '\u0000\u0001\u0002',
    '',
  ];
}

// ---- the bases -----------------------------------------------------------------------------

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop';

function baseRecipe(): Record<string, any> {
  const doc = parse(readFileSync(join(REPO_ROOT, 'recipes/host.yaml'), 'utf8')) as Record<string, any>;
  doc.files.push({ path: '/etc/motd', source: 'page.html', mode: '0644', owner: 'root' });
  doc.users = [{ name: 'alice', groups: ['sudo'], shell: '/bin/bash', sshAuthorizedKeys: [KEY] }];
  doc.units = [{ name: 'hello.service', content: '[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n' }];
  doc.services = { enable: ['ssh.service'], mask: ['getty@tty1.service'] };
  doc.containers[0].env = { MODE: 'prod' };
  return doc;
}

const RECIPE_PATHS: Path[] = [
  ['name'], ['version'], ['kernel', 'package'], ['kernel', 'cmdline', 0], ['kernel', 'modules', 0], ['packages', 0], ['exclude', 0], ['remove', 0],
  ['files', 0, 'path'], ['files', 0, 'content'], ['files', 0, 'mode'], ['files', 0, 'owner'], ['files', 1, 'path'],
  ['users', 0, 'name'], ['users', 0, 'shell'], ['users', 0, 'home'], ['users', 0, 'uid'], ['users', 0, 'groups', 0], ['users', 0, 'sshAuthorizedKeys', 0],
  ['units', 0, 'name'], ['units', 0, 'content'], ['services', 'mask', 0], ['services', 'enable', 0], ['services', 'disable', 0],
  ['containers', 0, 'name'], ['containers', 0, 'command', 0], ['containers', 0, 'env', 'MODE'], ['containers', 0, 'env', 'BAD KEY'],
  ['containers', 0, 'ports', 0, 'host'], ['containers', 0, 'mounts', 0, 'source'], ['containers', 0, 'mounts', 0, 'target'],
  ['containers', 0, 'image'], ['containers', 0, 'image', 'ref'], ['containers', 0, 'image', 'archive'],
  ['disk', 'slotSize'], ['disk', 'dataSize'], ['disk', 'espSize'], ['update'], ['update', 'url'], ['update', 'trustedRoot'], ['unknownKey'],
];
const RECIPE_LISTS: Path[] = [['files'], ['users'], ['units'], ['containers'], ['containers', 0, 'ports'], ['services', 'mask']];
const RECIPE_INJECTABLE: Path[] = [['containers', 0, 'env', 'MODE'], ['containers', 0, 'command', 1], ['files', 0, 'content'], ['units', 0, 'content'], ['kernel', 'cmdline', 0]];
const RECIPE_SOURCES: Path[] = [['files', 0, 'source'], ['files', 1, 'source'], ['containers', 0, 'image', 'archive'], ['update', 'trustedRoot']];

const OWN_CONFIG = {
  hostname: 'edge-1',
  users: [{ name: 'bob', groups: ['sudo'], sshAuthorizedKeys: [KEY] }],
  files: [{ path: '/etc/app/app.conf', content: 'mode = prod\n', mode: '0640', owner: 'bob' }, { path: '/var/lib/app/blob', base64: 'AAEC' }],
  units: [{ name: 'app.service', content: '[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n', enabled: true, dropins: [{ name: '10-env.conf', content: '[Service]\nEnvironment=A=1\n' }] }],
  containers: [{ name: 'cache', image: { ref: 'registry.example/cache:1' }, env: { SIZE: '64m' }, ports: [{ host: 6379, container: 6379 }] }],
  network: { interfaces: [{ name: 'en*', addresses: ['192.0.2.10/24'], gateway: '192.0.2.1', dns: ['192.0.2.53'] }] },
  sysctl: { 'net.core.somaxconn': 1024 },
  timezone: 'UTC',
};
const OWN_PATHS: Path[] = [
  ['hostname'], ['users', 0, 'name'], ['users', 0, 'uid'], ['users', 0, 'shell'], ['users', 0, 'groups', 0], ['users', 0, 'sshAuthorizedKeys', 0],
  ['files', 0, 'path'], ['files', 0, 'content'], ['files', 0, 'mode'], ['files', 0, 'owner'], ['files', 1, 'path'], ['files', 1, 'base64'],
  ['units', 0, 'name'], ['units', 0, 'content'], ['units', 0, 'dropins', 0, 'name'], ['units', 0, 'dropins', 0, 'content'], ['units', 0, 'mask'],
  ['containers', 0, 'name'], ['containers', 0, 'image', 'ref'], ['containers', 0, 'env', 'SIZE'], ['containers', 0, 'command'], ['containers', 0, 'ports', 0, 'host'],
  ['network', 'interfaces', 0, 'name'], ['network', 'interfaces', 0, 'addresses', 0], ['network', 'interfaces', 0, 'gateway'], ['network', 'interfaces', 0, 'dns', 0],
  ['sysctl', 'net.core.somaxconn'], ['sysctl', 'kernel.x\nfs.y'], ['timezone'], ['update', 'channel'], ['unknownKey'],
];
const OWN_INJECTABLE: Path[] = [['containers', 0, 'env', 'SIZE'], ['containers', 0, 'command'], ['files', 0, 'content'], ['units', 0, 'content'], ['units', 0, 'dropins', 0, 'content'], ['hostname'], ['users', 0, 'sshAuthorizedKeys', 0]];
const OWN_LISTS: Path[] = [['users'], ['files'], ['units'], ['containers'], ['network', 'interfaces']];

const IGNITION_CONFIG = {
  ignition: { version: '3.4.0' },
  passwd: { users: [{ name: 'carol', groups: ['sudo'], sshAuthorizedKeys: [KEY] }] },
  storage: {
    files: [
      { path: '/etc/hostname', contents: { source: 'data:,edge-2' }, mode: 420 },
      { path: '/etc/app.env', contents: { source: `data:;base64,${gzipSync('A=1\n').toString('base64')}`, compression: 'gzip' }, overwrite: true },
    ],
    links: [{ path: '/etc/localtime', target: '/usr/share/zoneinfo/UTC' }],
  },
  systemd: { units: [{ name: 'app.service', enabled: true, contents: '[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n', dropins: [{ name: '10-a.conf', contents: '[Service]\n' }] }] },
};
const IGNITION_PATHS: Path[] = [
  ['ignition', 'version'], ['passwd', 'users', 0, 'name'], ['passwd', 'users', 0, 'sshAuthorizedKeys', 0], ['passwd', 'users', 0, 'groups', 0], ['passwd', 'users', 0, 'shell'],
  ['storage', 'files', 0, 'path'], ['storage', 'files', 0, 'contents', 'source'], ['storage', 'files', 0, 'mode'], ['storage', 'files', 0, 'user', 'name'],
  ['storage', 'files', 1, 'contents', 'compression'], ['storage', 'files', 1, 'contents', 'verification', 'hash'], ['storage', 'files', 1, 'contents', 'httpHeaders'],
  ['storage', 'files', 0, 'shouldExist'], ['storage', 'links', 0, 'path'], ['storage', 'links', 0, 'target'], ['storage', 'directories'],
  ['systemd', 'units', 0, 'name'], ['systemd', 'units', 0, 'contents'], ['systemd', 'units', 0, 'dropins', 0, 'name'], ['systemd', 'units', 0, 'mask'], ['unknownKey'],
];
const IGNITION_INJECTABLE: Path[] = [['systemd', 'units', 0, 'contents'], ['passwd', 'users', 0, 'sshAuthorizedKeys', 0], ['passwd', 'users', 0, 'gecos'], ['storage', 'links', 0, 'target']];
const IGNITION_LISTS: Path[] = [['passwd', 'users'], ['storage', 'files'], ['systemd', 'units']];

const FACTS: ManifestFacts = {
  users: [{ name: 'root', uid: 0, gid: 0, home: '/root' }, { name: 'nobody', uid: 65534, gid: 65534, home: '/nonexistent' }],
  groups: [{ name: 'root', gid: 0 }, { name: 'sudo', gid: 27 }, { name: 'nogroup', gid: 65534 }],
  units: ['ssh.service', 'getty@.service', 'systemd-networkd.service'],
  containers: ['web'],
  timezones: ['UTC', 'Europe/Berlin'],
  install: { 'ssh.service': [{ target: 'multi-user.target', kind: 'wants' }] },
};

// ---- the properties ----------------------------------------------------------------------------

beforeAll(async () => {
  sandbox = tempDir('fuzz');
  writeFileSync(join(sandbox, 'canary.txt'), 'canary\n');
  mkdirSync(join(sandbox, 'canary-dir'));
  writeFileSync(join(sandbox, 'canary-dir', 'secret'), 'secret\n');
  recipeDir = join(sandbox, 'recipe');
  configDir = join(sandbox, 'config');
  mkdirSync(recipeDir);
  mkdirSync(configDir);
  mkdirSync(join(sandbox, 'out'));
  writeFileSync(join(recipeDir, 'page.html'), '<h1>hello</h1>\n');
  symlinkSync('../canary-dir', join(recipeDir, 'escape'));
  symlinkSync('../canary.txt', join(configDir, 'link-to-canary'));
  writeFileSync(join(configDir, 'host_1.0.0.manifest.json'), JSON.stringify({ name: 'host', version: '1.0.0', image: FACTS }));
  // The lockfile the dry runs read: resolved once from the real archive, for the recipe every case starts from.
  writeFileSync(join(recipeDir, 'host.yaml'), stringify(baseRecipe()));
  const lock = await slipway(['lock', join(recipeDir, 'host.yaml'), '--cache', SHARED_CACHE]);
  expect(lock.exitCode, lock.stderr).toBe(0);
  wholeDocuments = bombs();
  accountsDir = tempDir('accounts');
  cwd = process.cwd();
  process.chdir(recipeDir);
  before = snapshot();
  console.log(`memory before the first case: ${(process.memoryUsage.rss() / 1024 ** 2).toFixed(0)} MiB`);
}, 600_000);

afterAll(() => process.chdir(cwd));

/** Lines that values of the valid recipe in host.yaml put into the files the build generates from them. */
function checkRecipeGeneratedFiles(): void {
  const loaded = loadRecipe(join(recipeDir, 'host.yaml'));
  if (!loaded.ok) return;
  for (const container of loaded.value.recipe.containers) expectNoInjectedLine(`the unit of container ${container.name}`, containerUnit(container));
  const accounts = new Accounts();
  accounts.addGroup('sudo', 27);
  try {
    applyRecipeUsers(accounts, loaded.value.recipe.users);
  } catch {
    return; // refused with a BuildError (a clash with a system user): nothing generated
  }
  const tree = new Tree(accountsDir);
  writeAccounts(tree, accounts, 20000);
  for (const file of ['etc/passwd', 'etc/group', 'etc/shadow', 'etc/gshadow']) expectNoInjectedLine(file, tree.readText(file));
}

describe('hostile input (fast-check, seed and runs in the file header)', () => {
  it('build --dry-run refuses or plans every generated recipe, touching nothing but the cache', async () => {
    const base = baseRecipe();
    const recipes = serialized(changes(RECIPE_PATHS, RECIPE_LISTS, RECIPE_SOURCES, RECIPE_INJECTABLE).map((edits) => applyEdits(base, edits)), false);
    await fc.assert(
      fc.asyncProperty(recipes, async (text) => {
        writeFileSync(join(recipeDir, 'host.yaml'), text);
        // The shared cache: a dry run fetches and unpacks the packages, as the build does.
        const result = await run(['build', 'host.yaml', '--dry-run', '--out', '../out', '--cache', SHARED_CACHE]);
        expectHandled(result, text);
        count('build --dry-run', result.exitCode);
        if (result.exitCode === 0) checkRecipeGeneratedFiles();
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    expectBothOutcomes('build --dry-run');
    console.log(`peak memory so far: ${(peakRss / 1024 ** 2).toFixed(0)} MiB`);
    expect(peakRss).toBeLessThan(MEMORY_LIMIT);
  }, 1_200_000);

  for (const format of ['yaml', 'ignition'] as const) {
    it(`config validate and compile refuse or compile every generated ${format} host config, touching nothing but the plan`, async () => {
      const base = format === 'yaml' ? OWN_CONFIG : IGNITION_CONFIG;
      const docs = format === 'yaml'
        ? changes(OWN_PATHS, OWN_LISTS, [['files', 0, 'base64']], OWN_INJECTABLE)
        : changes(IGNITION_PATHS, IGNITION_LISTS, [['storage', 'files', 0, 'contents', 'source']], IGNITION_INJECTABLE);
      const file = join(configDir, format === 'yaml' ? 'host.yaml' : 'host.ign');
      const outs = fc.constantFrom('../config/plan', '../config/plan', '../config/plan', '../config/link-to-canary', '../canary-dir', '../nowhere/plan', '/proc/self/x', '/dev/null');
      await fc.assert(
        fc.asyncProperty(serialized(docs.map((changes) => applyEdits(base, changes)), format === 'ignition'), outs, async (text, out) => {
          writeFileSync(file, text);
          const validated = await run(['config', 'validate', file, '--image', join(configDir, 'host_1.0.0.manifest.json')]);
          expectHandled(validated, text);
          const compiled = await run(['config', 'compile', file, '--image', join(configDir, 'host_1.0.0.manifest.json'), '--out', out, '--json']);
          expectHandled(compiled, text, { json: true });
          count(`config validate (${format})`, validated.exitCode);
          if (out === '../config/plan') count(`config compile (${format})`, compiled.exitCode);
          if (out === '../config/plan') expect(compiled.exitCode === 0, compiled.stderr).toBe(validated.exitCode === 0);
          if (compiled.exitCode === 0 && out === '../config/plan') {
            const { config } = JSON.parse(compiled.stdout) as { config: { files: { path: string }[]; units: { name: string; dropins: { name: string }[] }[] } };
            const declared = new Set([
              ...config.files.map((f) => planPath(f.path)),
              ...config.units.flatMap((u) => [planPath(`/etc/systemd/system/${u.name}`), ...u.dropins.map((d) => planPath(`/etc/systemd/system/${u.name}.d/${d.name}`))]),
            ]);
            const files = await readTarFiles(Readable.from([readFileSync(join(configDir, 'plan'))]), (name) => !declared.has(name));
            for (const [name, body] of files) expectNoInjectedLine(name, body.toString('utf8'));
          }
          rmSync(join(configDir, 'plan'), { force: true });
        }),
        { seed: SEED, numRuns: RUNS, endOnFailure: true },
      );
      expectBothOutcomes(`config validate (${format})`);
      expectBothOutcomes(`config compile (${format})`);
      console.log(`peak memory so far: ${(peakRss / 1024 ** 2).toFixed(0)} MiB`);
      expect(peakRss).toBeLessThan(MEMORY_LIMIT);
    }, 1_200_000);
  }
});
