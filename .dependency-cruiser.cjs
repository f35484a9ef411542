/**
 * The layers of slipway's code, as rules dependency-cruiser checks (test/unit/structure.test.ts,
 * in npm test). docs/design.md ("Layers") says why each rule is there.
 */
const BASE = '^src/(errors|error-report|tools|cleanup)\\.ts$|^src/launcher/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', comment: 'No import cycles, in any layer.', from: {}, to: { circular: true } },
    {
      name: 'cli-is-the-top',
      severity: 'error',
      comment: 'Nothing outside src/cli imports src/cli (bin/slipway.js only starts it): the build reports progress through an interface the CLI implements.',
      from: { pathNot: '^src/cli/|^bin/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'base-stands-alone',
      severity: 'error',
      comment: 'errors, tools, cleanup and the launcher import only each other and src/shared.',
      from: { path: BASE },
      to: { path: '^src/', pathNot: `${BASE}|^src/shared/` },
    },
    {
      name: 'shared-stands-alone',
      severity: 'error',
      comment: 'src/shared holds what several layers share on purpose (Debian version order, GPT, unit files, reboot windows); it imports only itself and the errors.',
      from: { path: '^src/shared/' },
      to: { path: '^src/', pathNot: '^src/shared/|^src/errors\\.ts$' },
    },
    {
      name: 'recipe-over-shared',
      severity: 'error',
      comment: 'src/recipe (the recipe, its schema and what its declarations become) imports only src/shared and the base.',
      from: { path: '^src/recipe/' },
      to: { path: '^src/', pathNot: `^src/(recipe|shared)/|${BASE}` },
    },
    {
      name: 'assemble-knows-no-disks',
      severity: 'error',
      comment: 'src/assemble knows packages and file trees: not disks, updates, host configs or the build that drives it.',
      from: { path: '^src/assemble/' },
      to: { path: '^src/(bootimage|updater|hostconfig|pipeline|cli)/' },
    },
    {
      name: 'bootimage-takes-a-tree',
      severity: 'error',
      comment: 'src/bootimage knows partitions, filesystems, the ESP and the UKI; it takes a finished tree or image.',
      from: { path: '^src/bootimage/' },
      to: { path: '^src/(assemble|updater|hostconfig|pipeline|cli)/' },
    },
    {
      name: 'updater-stands-alone',
      severity: 'error',
      comment: 'src/updater runs inside the image too: it never imports the builder (what it shares with it lives in src/shared).',
      from: { path: '^src/updater/' },
      to: { path: '^src/(assemble|bootimage|hostconfig|pipeline|recipe|cli)/' },
    },
    {
      name: 'hostconfig-stands-alone',
      severity: 'error',
      comment: 'src/hostconfig runs inside the image too: host configs, checked against an image\'s facts, without the builder or QEMU.',
      from: { path: '^src/hostconfig/' },
      to: { path: '^src/(assemble|bootimage|updater|pipeline|cli)/|^qemu/' },
    },
    {
      name: 'installer-stands-alone',
      severity: 'error',
      comment: 'src/installer runs inside the image, live from the ISO: host configs and the install map, without the builder, the updater or QEMU.',
      from: { path: '^src/installer/' },
      to: { path: '^src/(assemble|bootimage|updater|pipeline|cli)/|^qemu/' },
    },
    {
      name: 'qemu-runs-images',
      severity: 'error',
      comment: 'qemu/ builds and runs QEMU command lines; of src it may use src/shared only.',
      from: { path: '^qemu/' },
      to: { path: '^src/', pathNot: '^src/shared/' },
    },
    {
      name: 'product-not-tests',
      severity: 'error',
      comment: 'The product never imports its tests or benchmarks.',
      from: { path: '^(src|qemu|bin)/' },
      to: { path: '^(test|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.mjs', '.js'] },
  },
};
