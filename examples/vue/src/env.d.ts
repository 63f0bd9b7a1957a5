// .vue files are compiled by Vite (@vitejs/plugin-vue), not type-checked by `tsc`.
declare module '*.vue' {
  import type { DefineComponent } from 'vue';
  const component: DefineComponent<object, object, unknown>;
  export default component;
}
