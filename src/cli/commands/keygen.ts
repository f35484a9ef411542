import { generateKeys, ROLES } from '../../updater/keys.ts';
import type { Command } from '../command.ts';

export const keygenCommand: Command = {
  name: 'keygen',
  summary: 'make update-signing keys: one ed25519 key per TUF role',
  usage: 'DIR',
  details: [
    'DIR gets ROLE.key (private, mode 0600) and ROLE.pub.json for each role (root, targets,',
    'snapshot, timestamp); existing keys are never replaced.',
    'Keep root.key offline: it is only needed to make a repository and to rotate keys.',
  ],
  options: {},
  positionals: { min: 1, max: 1 },
  async run({ positionals, global, out }) {
    const keys = generateKeys(positionals[0]!);
    if (global.json) out(`${JSON.stringify(Object.fromEntries(ROLES.map((role) => [role, keys[role].key.keyID])), null, 2)}\n`);
    else for (const role of ROLES) out(`${role.padEnd(9)} ${keys[role].key.keyID}\n`);
  },
};
