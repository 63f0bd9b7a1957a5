import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vite';

// The console imports the SDK as an app would: `@org/live-chat-client` and
// `@org/live-chat-client/svelte`, resolved by package self-reference to the built dist/ (so
// `npm run build` comes first; `npm start` does both). The reference server serves it under /svelte/.
export default defineConfig({
  root: import.meta.dirname,
  base: '/svelte/',
  plugins: [svelte({ configFile: false })],
  build: { outDir: 'dist', emptyOutDir: true },
  // Its own dependency cache, so that several consoles' dev servers can run at once.
  cacheDir: '../../node_modules/.vite/svelte',
  server: { proxy: { '/api': { target: 'http://127.0.0.1:3000', ws: true } } },
});
