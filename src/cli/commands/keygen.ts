import { makeSecureBootKeys, SECURE_BOOT_ROLES } from '../../bootimage/secure-boot.ts';
import { checkTools } from '../../tools.ts';
import { generateKeys, ROLES } from '../../updater/keys.ts';
import type { Command } from '../command.ts';

export const keygenCommand: Command = {
  name: 'keygen',
  summary: 'make update-signing keys (one ed25519 key per TUF role), or Secure Boot keys',
  usage: '[--secure-boot] DIR',
  details: [
    'DIR gets ROLE.key (private, mode 0600) and ROLE.pub.json for each role (root, targets,',
    'snapshot, timestamp); existing keys are never replaced.',
    'Keep root.key offline: it is only needed to make a repository and to rotate keys.',
  ],
  options: {
    'secure-boot': {
      type: 'boolean',
      help: [
        'make Secure Boot keys instead: PK, KEK and db, each a .key (0600) and a .crt, and',
        'the signed lists (.auth) a machine in setup mode enrolls; a recipe that names',
        'DIR in secureBoot.keys is signed with the db key',
      ],
    },
  },
  positionals: { min: 1, max: 1 },
  async run({ positionals, values, global, out }) {
    const dir = positionals[0]!;
    if (values['secure-boot']) {
      checkTools(['openssl', 'cert-to-efi-sig-list', 'sign-efi-sig-list']);
      const { owner, files } = await makeSecureBootKeys(dir);
      if (global.json) out(`${JSON.stringify({ owner, files }, null, 2)}\n`);
      else out(`Secure Boot keys ${SECURE_BOOT_ROLES.join(', ')} in ${dir} (owner ${owner})\n`);
      return;
    }
    const keys = generateKeys(dir);
    if (global.json) out(`${JSON.stringify(Object.fromEntries(ROLES.map((role) => [role, keys[role].key.keyID])), null, 2)}\n`);
    else for (const role of ROLES) out(`${role.padEnd(9)} ${keys[role].key.keyID}\n`);
  },
};
