import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';

// The console imports the SDK as an app would: `@org/live-chat-client` and
// `@org/live-chat-client/vue`, resolved by package self-reference to the built dist/ (so
// `npm run build` comes first; `npm start` does both). The reference server serves it under /vue/.
export default defineConfig({
  root: import.meta.dirname,
  base: '/vue/',
  plugins: [vue()],
  build: { outDir: 'dist', emptyOutDir: true },
  // Its own dependency cache, so that several consoles' dev servers can run at once.
  cacheDir: '../../node_modules/.vite/vue',
  server: { proxy: { '/api': { target: 'http://127.0.0.1:3000', ws: true } } },
});
