/**
 * Section 1: bundle cost. Each of our entries as the package ships it (the tsup build, then
 * measured exactly as `npm run size` does: bundled with its dependencies, frameworks left out,
 * minified for the browser, gzip -9 and brotli 11), beside each peer's main entry bundled the
 * same way with esbuild.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';
import { type Options, build as tsup } from 'tsup';
import tsupConfig from '../../tsup.config.js';
import { bundleOptions, compressed, measure } from '../../scripts/size.js';
import { root } from './lib/proc.js';
import { type Context, type SectionResult, runIfMain, table } from './lib/section.js';
import { count, fixed } from './lib/stats.js';

/** How an app imports each peer: its whole main entry. */
export const peers: { name: string; source: string }[] = [
  { name: 'socket.io-client', source: "export * from 'socket.io-client';" },
  { name: 'phoenix', source: "export * from 'phoenix';" },
  { name: 'centrifuge', source: "export * from 'centrifuge';" },
  { name: 'partysocket', source: "export * from 'partysocket'; export { default } from 'partysocket';" },
  { name: 'reconnecting-websocket', source: "export { default } from 'reconnecting-websocket';" },
  { name: 'pusher-js', source: "export { default } from 'pusher-js';" },
];

export function version(name: string): string {
  return (JSON.parse(readFileSync(`${root}node_modules/${name}/package.json`, 'utf8')) as { version: string }).version;
}

async function measurePeer(source: string): Promise<{ minified: number; gzip: number; brotli: number }> {
  const result = await build({ ...bundleOptions, stdin: { contents: source, resolveDir: root, loader: 'js' } });
  return compressed(result.outputFiles[0]!.contents);
}

export async function sizeSection(context: Context): Promise<SectionResult> {
  const out = `${context.scratch}/dist`;
  context.log('size: building the package (tsup, no types) into the scratch folder');
  // The published build (tsup.config.ts), into a scratch folder so the working tree's dist/ is left alone.
  await tsup({ ...(tsupConfig as Options), config: false, outDir: out, dts: false, sourcemap: false, format: ['esm'], silent: true });
  const relative = out.slice(root.length);
  const ours = [];
  for (const [label, entry] of [
    ['core', 'index.js'],
    ['react', 'react/index.js'],
    ['vue', 'vue/index.js'],
    ['svelte', 'svelte/index.js'],
  ] as const) {
    ours.push({ label, ...(await measure(`${relative}/${entry}`)) });
  }
  const core = ours[0]!;
  const measured = [];
  for (const peer of peers) measured.push({ ...peer, version: version(peer.name), ...(await measurePeer(peer.source)) });
  writeFileSync(`${context.scratch}/sizes.json`, JSON.stringify({ ours, peers: measured }, null, 2));

  const rows = [
    ...ours.map((entry) => [
      `**@org/live-chat-client${entry.label === 'core' ? '' : `/${entry.label}`}**`,
      count(entry.minified),
      count(entry.gzip),
      count(entry.brotli),
      entry.label === 'core' ? '1.00×' : `+${fixed(entry.gzip / core.gzip)}× (on top of core)`,
    ]),
    ...measured.map((peer) => [
      `${peer.name} ${peer.version}`,
      count(peer.minified),
      count(peer.gzip),
      count(peer.brotli),
      `${fixed(peer.gzip / core.gzip)}×`,
    ]),
  ];
  const smaller = measured.filter((peer) => peer.gzip < core.gzip);
  const behind = smaller.map(
    (peer) =>
      `Bundle: ${peer.name} (${count(peer.gzip)} B min+gzip) is smaller than our core (${count(core.gzip)} B), but it is a reconnecting WebSocket only: no auth, acks, outbox, replay, conversations or typing.`,
  );
  return {
    title: 'Bundle cost',
    markdown: [
      'Bytes, esbuild `--bundle --minify --format=esm --platform=browser --target=es2022`, dependencies included; ' +
        'our adapters exclude the framework and the core (an app ships the core once). gzip -9, brotli 11. ' +
        'Ratio: the entry\'s min+gzip over our core\'s. Sizes are deterministic: one build, no repetition needed.',
      '',
      table(['entry', 'min', 'min+gzip', 'brotli', 'vs our core (gzip)'], rows),
    ].join('\n'),
    summary: [
      { metric: 'Core bundle, min+gzip', value: `${count(core.gzip)} B` },
      ...measured.map((peer) => ({ metric: `  ${peer.name} / our core (gzip)`, value: `${fixed(peer.gzip / core.gzip)}×` })),
    ],
    behind,
  };
}

await runIfMain(import.meta.url, sizeSection);
