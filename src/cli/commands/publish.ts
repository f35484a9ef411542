import { UsageError } from '../../errors.ts';
import { initRepository, publish, resignTimestamp, rotateKeys } from '../../updater/publish.ts';
import { stringOption, type Command } from '../command.ts';

/** Ten years: targets metadata that outlives its keys' rotation is a risk, and past this dates overflow. */
const MAX_EXPIRES_DAYS = 3650;

export const publishCommand: Command = {
  name: 'publish',
  summary: 'add a build to a TUF update repository (static files), or re-sign its timestamp',
  usage: 'BUILD_DIR --repo DIR --keys DIR [--channel NAME] [--expires DAYS] | --init | --timestamp | --rotate-keys NEW_DIR',
  details: [
    'BUILD_DIR  the output folder of one slipway build: its root, verity, UKI and manifest',
    '           become targets',
  ],
  options: {
    'repo': { type: 'string', value: 'DIR', help: 'the repository (made on first publish); serve it with any HTTP server' },
    'keys': { type: 'string', value: 'DIR', help: 'the keys from slipway keygen (root.key only needed for the first publish)' },
    'channel': { type: 'string', value: 'NAME', help: 'the channel hosts follow to get this version (default: stable)' },
    'expires': { type: 'string', value: 'DAYS', help: 'days until the targets metadata expires, 1 to 3650 (default: 90)' },
    'init': { type: 'boolean', help: ['only make the repository\'s root (metadata/1.root.json),', 'for recipes\' update.trustedRoot'] },
    'timestamp': { type: 'boolean', help: 'only re-sign timestamp.json, which expires after a day: run it daily' },
    'rotate-keys': {
      type: 'string',
      value: 'NEW_DIR',
      help: ['replace every key with those from slipway keygen NEW_DIR: a new root signed', 'by the old and new root keys, the rest signed again;', 'publish with NEW_DIR after'],
    },
  },
  positionals: { min: 0, max: 1 },
  async run({ positionals, values, global, out }) {
    const repo = stringOption(values, 'repo');
    const keys = stringOption(values, 'keys');
    if (!repo || !keys) throw new UsageError('publish: --repo and --keys are required', "see 'slipway publish --help'");
    if (values.init) {
      const root = initRepository(repo, keys);
      out(global.json ? `${JSON.stringify({ root })}\n` : `${root}\n`);
      return;
    }
    const rotateTo = stringOption(values, 'rotate-keys');
    if (rotateTo !== undefined) {
      const version = await rotateKeys(repo, keys, rotateTo);
      out(global.json ? `${JSON.stringify({ rootVersion: version })}\n` : `root.json version ${version} trusts the keys in ${rotateTo}\n`);
      return;
    }
    if (values.timestamp) {
      const version = await resignTimestamp(repo, keys);
      out(global.json ? `${JSON.stringify({ timestampVersion: version })}\n` : `timestamp.json version ${version}\n`);
      return;
    }
    const build = positionals[0];
    if (!build) throw new UsageError('publish: give the build folder', "see 'slipway publish --help'");
    const expiresText = stringOption(values, 'expires');
    const expiresDays = expiresText === undefined ? undefined : Number(expiresText);
    if (expiresDays !== undefined && (!Number.isInteger(expiresDays) || expiresDays < 1 || expiresDays > MAX_EXPIRES_DAYS)) {
      throw new UsageError(`--expires ${expiresText}: expected a whole number of days from 1 to ${MAX_EXPIRES_DAYS}`, 'e.g. --expires 30');
    }
    const result = await publish(build, repo, keys, { channel: stringOption(values, 'channel'), expiresDays });
    if (global.json) out(`${JSON.stringify(result, null, 2)}\n`);
    else out(`published ${result.name} ${result.version} (targets version ${result.targetsVersion}):\n${result.targets.map((t) => `  ${t}\n`).join('')}`);
  },
};
