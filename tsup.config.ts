import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'react/index': 'src/react/index.ts',
    'vue/index': 'src/vue/index.ts',
    'svelte/index': 'src/svelte/index.ts',
  },
  tsconfig: 'tsconfig.src.json',
  format: ['esm', 'cjs'],
  // Internal members are marked @internal, so the published types never show them.
  dts: { compilerOptions: { stripInternal: true } },
  sourcemap: true,
  clean: true,
  // es2022 keeps class fields native (es2020 adds a shared __publicField helper chunk).
  target: 'es2022',
  esbuildPlugins: [
    {
      // The adapters import the core as `../index.js`: kept as an import of the published core
      // entry (`../index.js` or `../index.cjs`), never bundled again, so an app has one copy of the
      // core and `instanceof LiveChatError` holds across entries.
      name: 'core-external',
      setup(build) {
        const core = build.initialOptions.format === 'cjs' ? '../index.cjs' : '../index.js';
        build.onResolve({ filter: /^\.\.\/index\.js$/ }, () => ({ path: core, external: true }));
      },
    },
  ],
  esbuildOptions(options) {
    // Members whose names end in `_` are internal (the Closure convention, and esbuild's documented
    // pattern; `[^_]` spares `__proto__`-style names): renamed to short names in the build, since
    // gzip cannot shorten a long unique property name the way the minifier shortens variables.
    options.mangleProps = /[^_]_$/;
  },
});
