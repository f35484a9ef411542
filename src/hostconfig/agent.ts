/**
 * `slipway-provision`, bundled into the image as /usr/lib/slipway/provision.cjs. The initrd runs it
 * at first boot, chrooted into the verified root, when a host config comes without a plan compiled
 * for it and this image (see compile.ts), or when the platform holds the config (platforms.ts): it
 * reads the config, fetches what an Ignition config names by URL, checks it against the image's
 * facts and writes the plan, which the initrd then applies.
 *
 *   node provision.cjs CONFIG-FILE LABEL PLAN-FILE
 *   node provision.cjs --platform NAME DIR PLAN-FILE     (writes where the config came from to DIR/source)
 *
 * Prints `slipway-provision: error: ...` lines, then a `hint:` line, and exits with the error's code
 * (12 for a config that does not validate, 9 for a platform that does not answer); the plan file is
 * then not written. Exits with 75 when the config needs the network and the initrd has not brought
 * it up (SLIPWAY_NETWORK unset): the initrd brings it up and runs this again.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeError } from '../error-report.ts';
import { ConfigError, UsageError } from '../errors.ts';
import { replaceFileDurably } from '../shared/durable.ts';
import { MAX_CONFIG_BYTES } from '../shared/inflate.ts';
import { compilePlan } from './compile.ts';
import { FACTS_PATH, factsFromManifest, type ManifestFacts } from './facts.ts';
import { fetchBytes } from './fetch.ts';
import { IgnitionProblem } from './ignition.ts';
import { ignitionRemoteSources, resolveIgnitionRemotes } from './ignition-remote.ts';
import { decodeUserData, hostConfigFrom, type PlatformIdentity, type UserData } from './load.ts';
import { PLATFORMS, type PlatformName } from '../shared/platform.ts';
import { readPlatformConfig } from './platforms.ts';

const NEEDS_NETWORK = 75;
/** How long a platform's metadata service or an Ignition source may keep from answering before the boot stops. */
const RETRY_FOR_MS = 60_000;

const log = (line: string) => process.stderr.write(`slipway-provision: ${line}\n`);
const hasNetwork = () => process.env.SLIPWAY_NETWORK === '1';

class NeedsNetwork extends Error {}

/** Fetches what an Ignition config names by URL (replace, merge, file contents); other configs are as they are. */
async function withRemotes(data: UserData, label: string): Promise<UserData> {
  if (data.kind !== 'ignition' || ignitionRemoteSources(data.document).length === 0) return data;
  if (!hasNetwork()) throw new NeedsNetwork();
  const fetch = (url: string, headers: Record<string, string>) =>
    fetchBytes(url, { headers, maxBytes: MAX_CONFIG_BYTES, retryForMs: RETRY_FOR_MS, onRetry: (_attempt, delayMs, reason) => log(`${url}: ${reason}; trying again in ${Math.round(delayMs / 1000)} s`) });
  try {
    return { kind: 'ignition', document: await resolveIgnitionRemotes(data.document, fetch) };
  } catch (error) {
    if (error instanceof IgnitionProblem) throw new ConfigError(error.problems.map((problem) => `${label}: ${problem.path}: ${problem.message}`).join('\n'), 'check that the host reaches the URLs the config names, and that they serve what its hashes say');
    throw error;
  }
}

async function compile(bytes: Buffer, label: string, planFile: string, identity?: PlatformIdentity): Promise<string | undefined> {
  const facts = JSON.parse(readFileSync(FACTS_PATH, 'utf8')) as ManifestFacts;
  const data = await withRemotes(decodeUserData(bytes, label), label);
  const config = hostConfigFrom(data, label, factsFromManifest(facts), identity);
  replaceFileDurably(planFile, await compilePlan(config, bytes, facts));
  return config.hostname;
}

function commandLine(): Map<string, string> {
  const args = readFileSync('/proc/cmdline', 'utf8').trim().split(/\s+/);
  return new Map(args.map((arg) => [arg.split('=')[0]!, arg.slice(arg.indexOf('=') + 1)]));
}

async function fromPlatform(name: string, dir: string, planFile: string): Promise<void> {
  if (!(PLATFORMS as readonly string[]).includes(name)) throw new UsageError(`unknown platform "${name}"`, `one of ${PLATFORMS.join(', ')}`);
  const platform = name as PlatformName;
  const cmdline = commandLine();
  const source = await readPlatformConfig(platform, {
    dir,
    configUrl: cmdline.get('slipway.config.url'),
    configSha256: cmdline.get('slipway.config.sha256'),
    retryForMs: RETRY_FOR_MS,
    log,
  });
  const userData = source.userData ?? Buffer.alloc(0);
  // What the platform gave, kept on /var beside the plan as a record of what was applied.
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'user-data'), userData);
  writeFileSync(join(dir, 'identity.json'), `${JSON.stringify(source.identity)}\n`);
  if (!source.userData) log(`${source.label} holds no user data: the host takes its name and keys from it`);
  await compile(userData, source.label, planFile, source.identity);
  writeFileSync(join(dir, 'source'), `${source.label}\n`);
}

async function main(argv: string[]): Promise<number> {
  try {
    if (argv[0] === '--platform') {
      const [, name, dir, planFile] = argv;
      if (!name || !dir || !planFile) throw new UsageError('expected --platform NAME DIR PLAN-FILE', 'usage: node provision.cjs --platform NAME DIR PLAN-FILE');
      await fromPlatform(name, dir, planFile);
      return 0;
    }
    const [file, label, planFile] = argv;
    if (!file || !label || !planFile) throw new UsageError('expected CONFIG-FILE LABEL PLAN-FILE', 'usage: node provision.cjs CONFIG-FILE LABEL PLAN-FILE');
    await compile(readFileSync(file), label, planFile);
    return 0;
  } catch (error) {
    if (error instanceof NeedsNetwork) return NEEDS_NETWORK;
    const { text, exitCode } = describeError('slipway-provision', error, { everyLine: true });
    process.stderr.write(text);
    return exitCode;
  }
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
