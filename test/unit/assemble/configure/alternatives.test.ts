import { mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyAlternatives, parseAlternatives, type Alternative } from '../../../../src/assemble/configure/alternatives.ts';
import { Tree } from '../../../../src/assemble/tree.ts';

const POSTINST = `#!/bin/sh
set -e
if [ "$1" = configure ]; then
    update-alternatives --install /usr/bin/editor editor /usr/bin/vim.basic 30 \\
        --slave /usr/share/man/man1/editor.1.gz editor.1.gz \\
                /usr/share/man/man1/vim.1.gz
    for i in vi view; do
        update-alternatives --install /usr/bin/$i $i /usr/bin/vim.basic 30
    done
    update-alternatives --quiet --install /usr/bin/pager pager /bin/less 77
    update-alternatives --install /usr/bin/awk awk /usr/bin/mawk high
    update-alternatives --remove editor /usr/bin/nano
fi
`;

describe('parseAlternatives', () => {
  const found = parseAlternatives(POSTINST);

  it('finds literal --install lines, joining continuations', () => {
    expect(found).toEqual([
      {
        name: 'editor', link: '/usr/bin/editor', path: '/usr/bin/vim.basic', priority: 30,
        slaves: [{ link: '/usr/share/man/man1/editor.1.gz', name: 'editor.1.gz', path: '/usr/share/man/man1/vim.1.gz' }],
      },
      { name: 'pager', link: '/usr/bin/pager', path: '/bin/less', priority: 77, slaves: [] },
    ]);
  });

  it('skips lines with shell variables, priorities that are not numbers and other actions', () => {
    expect(found.map((a) => a.name)).not.toContain('$i');
    expect(found.map((a) => a.name)).not.toContain('awk');
  });

  it('drops a slave with a variable but keeps the rest', () => {
    const [editor] = parseAlternatives(
      'update-alternatives --install /usr/bin/editor editor /usr/bin/nano 40 --slave /usr/bin/$x x /usr/bin/y --slave /usr/bin/rnano rnano /usr/bin/nano\n',
    );
    expect(editor?.slaves).toEqual([{ link: '/usr/bin/rnano', name: 'rnano', path: '/usr/bin/nano' }]);
  });
});

describe('applyAlternatives', () => {
  let root: string;
  let tree: Tree;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'slipway-unit-alternatives-'));
    tree = new Tree(root);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const nano: Alternative = { name: 'editor', link: '/usr/bin/editor', path: '/bin/nano', priority: 40, slaves: [{ link: '/usr/bin/rnano-editor', name: 'rnano', path: '/bin/rnano' }] };
  const vim: Alternative = { name: 'editor', link: '/usr/bin/editor', path: '/usr/bin/vim.basic', priority: 30, slaves: [] };
  const ed: Alternative = { name: 'editor', link: '/usr/bin/editor', path: '/bin/ed', priority: 99, slaves: [] };

  it('links the highest priority whose file is in the tree', () => {
    tree.writeFile('usr/bin/nano', 'nano');
    tree.writeFile('usr/bin/vim.basic', 'vim');
    const chosen = applyAlternatives(tree, [vim, nano, ed]); // ed is not installed
    expect(chosen).toEqual([nano]);
    expect(readlinkSync(join(root, 'etc/alternatives/editor'))).toBe('/bin/nano');
    expect(readlinkSync(join(root, 'usr/bin/editor'))).toBe('/etc/alternatives/editor');
    expect(tree.get('usr/bin/editor')).toMatchObject({ type: 'symlink', target: '/etc/alternatives/editor' });
  });

  it('links a slave only when its file is there', () => {
    tree.writeFile('usr/bin/nano', 'nano');
    applyAlternatives(tree, [nano]);
    expect(tree.has('etc/alternatives/rnano')).toBe(false);
    tree.writeFile('usr/bin/rnano', 'rnano');
    applyAlternatives(tree, [nano]);
    expect(readlinkSync(join(root, 'etc/alternatives/rnano'))).toBe('/bin/rnano');
    expect(readlinkSync(join(root, 'usr/bin/rnano-editor'))).toBe('/etc/alternatives/rnano');
  });

  it('does not replace a real file at the link', () => {
    tree.writeFile('usr/bin/nano', 'nano');
    tree.writeFile('usr/bin/editor', 'a real program');
    applyAlternatives(tree, [nano]);
    expect(tree.get('usr/bin/editor')?.type).toBe('file');
    expect(tree.readText('usr/bin/editor')).toBe('a real program');
  });

  it('does nothing when no alternative is installed', () => {
    expect(applyAlternatives(tree, [vim, ed])).toEqual([]);
    expect(tree.walk('')).toEqual([]);
  });
});
