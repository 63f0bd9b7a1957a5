import { Application, type DeclarationReflection, ReflectionKind } from 'typedoc';
import { expect, test } from 'vitest';

// Every option a team can set must show its default in the rendered API docs (typedoc's @default).
const optionInterfaces = [
  'LiveChatClientOptions',
  'QueueOptions',
  'HeartbeatOptions',
  'TypingOptions',
  'ExponentialBackoffOptions',
  'FixedIntervalOptions',
];
// Required, or a group of options documented on its own interface.
const noDefault = new Set(['LiveChatClientOptions.url', 'LiveChatClientOptions.token', 'LiveChatClientOptions.queue', 'LiveChatClientOptions.typing']);

test('typedoc documents every exported symbol and every option default', { timeout: 60_000 }, async () => {
  const app = await Application.bootstrap({
    entryPoints: ['src/index.ts', 'src/react/index.ts', 'src/vue/index.ts', 'src/svelte/index.ts'],
    tsconfig: 'tsconfig.src.json',
    excludeInternal: true,
    excludePrivate: true,
    disableSources: true,
    readme: 'none',
    logLevel: 'Error',
  });
  const project = await app.convert();
  expect(project, 'typedoc failed to convert the core entry').toBeDefined();

  const undocumented = project!
    .getReflectionsByKind(ReflectionKind.Class | ReflectionKind.Interface | ReflectionKind.Function | ReflectionKind.TypeAlias)
    .filter((reflection) => {
      const comment = reflection.comment ?? (reflection as DeclarationReflection).signatures?.[0]?.comment;
      return !comment || comment.summary.length === 0;
    })
    .map((reflection) => reflection.name);
  expect(undocumented).toEqual([]);

  const missingDefaults: string[] = [];
  for (const name of optionInterfaces) {
    const options = project!.getChildByName(['core', name]) as DeclarationReflection | undefined;
    expect(options, `${name} is not in the docs`).toBeDefined();
    for (const option of options!.children ?? []) {
      if (noDefault.has(`${name}.${option.name}`)) continue;
      if (!option.comment?.getTag('@default')) missingDefaults.push(`${name}.${option.name}`);
    }
  }
  expect(missingDefaults).toEqual([]);
});
