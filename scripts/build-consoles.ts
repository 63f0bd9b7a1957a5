/**
 * Builds the SDK (dist/) and the example consoles (examples/<name>/dist) with Vite.
 * `--if-stale` (used by `npm start`) builds only what is missing or older than its sources, so a
 * fresh clone needs no second command and a warm one starts at once.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const ifStale = process.argv.includes('--if-stale');

/** Newest modification time of the files under `paths` (0 when none exist). */
function newest(...paths: string[]): number {
  let time = 0;
  for (const path of paths) {
    const full = join(root, path);
    if (!existsSync(full)) continue;
    const info = statSync(full);
    if (info.isDirectory()) {
      for (const entry of readdirSync(full)) {
        if (entry !== 'node_modules' && entry !== 'dist') time = Math.max(time, newest(join(path, entry)));
      }
    } else time = Math.max(time, info.mtimeMs);
  }
  return time;
}

function built(output: string): number {
  const full = join(root, output);
  return existsSync(full) ? statSync(full).mtimeMs : 0;
}

function run(command: string, args: string[]): void {
  console.log(`> ${command} ${args.join(' ')}`);
  execFileSync(command, args, { cwd: root, stdio: 'inherit' });
}

if (!ifStale || built('dist/index.js') < newest('src', 'tsup.config.ts', 'package.json')) {
  run('npm', ['run', 'build']);
}
for (const name of ['react', 'vue', 'svelte']) {
  const folder = `examples/${name}`;
  if (!existsSync(join(root, folder, 'vite.config.ts'))) continue;
  const output = `${folder}/dist/index.html`;
  if (ifStale && built(output) >= Math.max(newest(folder), built('dist/index.js'))) continue;
  run('npx', ['vite', 'build', '--config', `${folder}/vite.config.ts`, '--logLevel', 'warn']);
}
