import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, ImageError, SlipwayError } from '../../../src/errors.ts';
import type { ManifestFacts } from '../../../src/hostconfig/facts.ts';
import { espConfigName, factsForImage, manifestFor, readConfigBytes, validateConfigFile } from '../../../src/hostconfig/read.ts';
import { tempDir } from '../../helpers/archive.ts';

const IMAGE: ManifestFacts = {
  users: [{ name: 'root', uid: 0, gid: 0, home: '/root' }, { name: 'app', uid: 1000, gid: 1000, home: '/home/app' }],
  groups: [{ name: 'root', gid: 0 }, { name: 'sudo', gid: 27 }, { name: 'app', gid: 1000 }],
  units: ['ssh.service'],
  containers: ['web'],
  timezones: ['UTC'],
  install: {},
};

/** A built image's file name in a fresh folder, with its manifest beside it. */
function builtImage(manifest: unknown): string {
  const dir = tempDir('read');
  writeFileSync(join(dir, 'host_1.0.manifest.json'), JSON.stringify(manifest));
  return join(dir, 'host_1.0.raw');
}

function thrown<T extends SlipwayError>(ErrorClass: new (...args: never[]) => T, run: () => unknown): T {
  try {
    run();
  } catch (error) {
    if (error instanceof ErrorClass) return error;
    throw error;
  }
  throw new Error(`expected a ${ErrorClass.name}`);
}
const configError = (run: () => unknown) => thrown(ConfigError, run);
const imageError = (run: () => unknown) => thrown(ImageError, run);

describe('espConfigName', () => {
  it.each([
    ['host.yaml', 'config.yaml'],
    ['host.yml', 'config.yaml'],
    ['/srv/configs/web.json', 'config.json'],
    ['WEB.JSON', 'config.json'],
    ['flatcar.ign', 'config.ign'],
    ['a.b/config', 'config.yaml'],
    ['config.ign.txt', 'config.yaml'],
  ])('names %s %s on the ESP', (file, name) => {
    expect(espConfigName(file)).toBe(name);
  });
});

describe('manifestFor', () => {
  it.each([
    ['out/host_1.0.raw', 'out/host_1.0.manifest.json'],
    ['out/host_1.0.qcow2', 'out/host_1.0.manifest.json'],
    ['out/host_1.0.netboot.efi', 'out/host_1.0.manifest.json'],
    ['out/host_1.0.manifest.json', 'out/host_1.0.manifest.json'],
    ['out/host_1.0', 'out/host_1.0.manifest.json'],
    ['out.raw/host_1.0.img', 'out.raw/host_1.0.img.manifest.json'],
  ])('finds the manifest of %s at %s', (image, manifest) => {
    expect(manifestFor(image)).toBe(manifest);
  });
});

describe('factsForImage', () => {
  it('assumes Debian\'s base accounts when no image is named', () => {
    const facts = factsForImage(undefined);
    expect(facts.users.get('root')?.uid).toBe(0);
    expect(facts.groups.get('sudo')).toBe(27);
    expect(facts.units).toBeUndefined();
  });

  it('reads the facts from the image key of the manifest beside the image', () => {
    const facts = factsForImage(builtImage({ name: 'host', version: '1.0', image: IMAGE }));
    expect(facts.users.get('app')).toEqual({ uid: 1000, gid: 1000, home: '/home/app' });
    expect(facts.groups.get('app')).toBe(1000);
    expect([...facts.units!]).toEqual(['ssh.service']);
    expect([...facts.containers]).toEqual(['web']);
    expect(facts.hasTimezone!('UTC')).toBe(true);
    expect(facts.hasTimezone!('Europe/Berlin')).toBe(false);
  });

  it('reads the manifest itself when it is named', () => {
    const image = builtImage({ image: IMAGE });
    expect(factsForImage(manifestFor(image)).users.has('app')).toBe(true);
  });

  it('refuses an image without a manifest, saying where it looked', () => {
    const image = join(tempDir('read'), 'gone_1.0.raw');
    const error = imageError(() => factsForImage(image));
    expect(error.exitCode).toBe(14);
    expect(error.message).toBe(`no manifest for ${image} (looked for ${manifestFor(image)})`);
    expect(error.hint).toMatch(/image slipway built/);
  });

  it('refuses a manifest cut short, saying it is not JSON', () => {
    const image = builtImage({ image: IMAGE });
    const manifest = manifestFor(image);
    writeFileSync(manifest, readFileSync(manifest, 'utf8').slice(0, 40));
    const error = imageError(() => factsForImage(image));
    expect(error.exitCode).toBe(14);
    expect(error.message).toMatch(new RegExp(`^cannot read ${manifest.replace(/[.]/g, '\\.')}: it is not valid JSON \\(`));
  });

  it('refuses a manifest without the image\'s facts, asking for a rebuild', () => {
    const image = builtImage({ name: 'host', version: '1.0' });
    const error = imageError(() => factsForImage(image));
    expect(error.message).toBe(`${manifestFor(image)} does not list the image's accounts and units`);
    expect(error.hint).toMatch(/rebuild/);
  });
});

describe('readConfigBytes', () => {
  it('refuses what is not a regular file, or is larger than a document may be, before reading it', () => {
    expect(() => readConfigBytes('/dev/zero')).toThrow(new ConfigError('cannot read host config /dev/zero: not a regular file', 'give the path of a YAML, JSON or Ignition host config'));
    expect(() => readConfigBytes(tempDir('folder'))).toThrow(/: not a regular file$/);
    const big = join(tempDir('big'), 'config.yaml');
    writeFileSync(big, Buffer.alloc(16 * 1024 ** 2 + 1, 0x20));
    expect(() => readConfigBytes(big)).toThrow(`cannot read host config ${big}: 16777217 bytes, more than the 16 MiB a document may have`);
  });
});

describe('validateConfigFile', () => {
  it('reads and checks a config file against the image\'s facts', () => {
    const facts = factsForImage(builtImage({ image: IMAGE }));
    const dir = tempDir('read');
    writeFileSync(join(dir, 'good.yaml'), 'users: [{ name: alice, groups: [sudo] }]\n');
    writeFileSync(join(dir, 'bad.yaml'), 'users: [{ name: app, uid: 1234 }]\n');
    expect(validateConfigFile(join(dir, 'good.yaml'), facts).users.map((u) => u.name)).toEqual(['alice']);
    expect(configError(() => validateConfigFile(join(dir, 'bad.yaml'), facts)).message)
      .toBe(`${join(dir, 'bad.yaml')}: users[0].uid: "app" is a user of the image, which a config gives only ssh keys and groups; leave uid out or give a new user name`);
  });

  it('refuses a file it cannot read, keeping the cause', () => {
    const missing = join(tempDir('read'), 'missing.yaml');
    const error = configError(() => readConfigBytes(missing));
    expect(error.exitCode).toBe(12);
    expect(error.message).toMatch(new RegExp(`^cannot read host config ${missing}: ENOENT`));
    expect((error.cause as NodeJS.ErrnoException).code).toBe('ENOENT');
  });
});
