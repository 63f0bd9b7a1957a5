import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  tsconfig: 'tsconfig.src.json',
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  // es2022 keeps class fields native (es2020 adds a shared __publicField helper chunk).
  target: 'es2022',
});
