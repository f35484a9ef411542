import { describe, expect, it } from 'vitest';
import { enabledProfiles, parsePamProfile, renderPamConfig } from '../../../../src/assemble/configure/pam.ts';

// libpam-runtime's unix profile and template markers, and two other packages' profiles, as Debian 12 ships them.
const UNIX = `Name: Unix authentication
Default: yes
Priority: 256
Auth-Type: Primary
Auth:
\t[success=end default=ignore]\tpam_unix.so nullok try_first_pass
Auth-Initial:
\t[success=end default=ignore]\tpam_unix.so nullok
Account-Type: Primary
Account:
\t[success=end new_authtok_reqd=done default=ignore]\tpam_unix.so
Session-Type: Additional
Session:
\trequired\tpam_unix.so
`;
const CAPABILITY = 'Name: Inheritable Capabilities Management\nDefault: yes\nPriority: 0\nAuth-Type: Additional\nAuth-Final:\n\toptional\t\t\tpam_cap.so\n';
const SYSTEMD = 'Name: Register user sessions\nDefault: yes\nPriority: 0\nSession-Interactive-Only: yes\nSession-Type: Additional\nSession:\n\toptional\tpam_systemd.so\n';
const MKHOMEDIR = 'Name: Create home directory on login\nDefault: no\nPriority: 0\nSession-Type: Additional\nSession-Interactive-Only: yes\nSession:\n\toptional\t\t\tpam_mkhomedir.so\n';

function template(type: string): string {
  return [
    `# /etc/pam.d/common-${type}`,
    '# here are the per-package modules (the "Primary" block)',
    `$${type}_primary`,
    "# here's the fallback if no module succeeds",
    `${type}\trequisite\t\t\tpam_deny.so`,
    `${type}\trequired\t\t\tpam_permit.so`,
    '# and here are more per-package modules (the "Additional" block)',
    `$${type}_additional`,
    '# end of pam-auth-update config',
    '',
  ].join('\n');
}

const profiles = enabledProfiles(new Map([['unix', parsePamProfile(UNIX)], ['capability', parsePamProfile(CAPABILITY)], ['systemd', parsePamProfile(SYSTEMD)], ['mkhomedir', parsePamProfile(MKHOMEDIR)]]));

function modules(type: Parameters<typeof renderPamConfig>[2]): string[] {
  return renderPamConfig(template(type.replace('-noninteractive', '')), profiles, type).split('\n').filter((line) => line && !line.startsWith('#'));
}

describe('pam-auth-update, as slipway does it', () => {
  it('enables the default profiles, highest priority first', () => {
    expect(profiles.map((p) => p.get('Name'))).toEqual(['Unix authentication', 'Register user sessions', 'Inheritable Capabilities Management']);
  });

  it('jumps from the primary block past pam_deny, using the first module’s Initial lines', () => {
    expect(modules('auth')).toEqual([
      'auth\t[success=1 default=ignore]\tpam_unix.so nullok',
      'auth\trequisite\t\t\tpam_deny.so',
      'auth\trequired\t\t\tpam_permit.so',
      'auth\toptional\t\t\tpam_cap.so ',
    ]);
    expect(modules('account')[0]).toBe('account\t[success=1 new_authtok_reqd=done default=ignore]\tpam_unix.so ');
  });

  it('primes a stack without primary modules with pam_permit', () => {
    expect(modules('session')).toEqual([
      'session\t[default=1]\t\t\tpam_permit.so',
      'session\trequisite\t\t\tpam_deny.so',
      'session\trequired\t\t\tpam_permit.so',
      'session\trequired\tpam_unix.so ',
      'session\toptional\tpam_systemd.so ',
    ]);
  });

  it('leaves interactive-only session modules out of common-session-noninteractive', () => {
    expect(modules('session-noninteractive')).toEqual([
      'session\t[default=1]\t\t\tpam_permit.so',
      'session\trequisite\t\t\tpam_deny.so',
      'session\trequired\t\t\tpam_permit.so',
      'session\trequired\tpam_unix.so ',
    ]);
  });

  it('counts every later primary line in an `end` jump', () => {
    const ldap = parsePamProfile('Name: LDAP\nDefault: yes\nPriority: 128\nAuth-Type: Primary\nAuth:\n\t[success=end default=ignore]\tpam_ldap.so use_first_pass\n');
    const both = enabledProfiles(new Map([['unix', parsePamProfile(UNIX)], ['ldap', ldap]]));
    const lines = renderPamConfig(template('auth'), both, 'auth').split('\n').filter((line) => line.includes('success='));
    expect(lines).toEqual(['auth\t[success=2 default=ignore]\tpam_unix.so nullok', 'auth\t[success=1 default=ignore]\tpam_ldap.so use_first_pass']);
  });
});
