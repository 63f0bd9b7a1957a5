import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The console imports the SDK as an app would: `@org/live-chat-client/react`, resolved by package
// self-reference to the built dist/ (so `npm run build` comes first; `npm start` does both).
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  // Each console has its own cache: two dev servers sharing one break each other's optimized deps.
  cacheDir: '../../node_modules/.vite/react',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true },
  server: { proxy: { '/api': { target: 'http://127.0.0.1:3000', ws: true } } },
});
