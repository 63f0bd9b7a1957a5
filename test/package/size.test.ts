import { existsSync } from 'node:fs';
import { expect, test } from 'vitest';
import { budgets, measure } from '../../scripts/size.js';

// `npm test` builds first; a bare `vitest run` on a clean tree has no dist to measure.
test.each(Object.entries(budgets))('%s stays within its min+gzip budget', async (entry, budget) => {
  expect(existsSync(entry), `${entry} is missing: run \`npm run build\` first`).toBe(true);
  const size = await measure(entry);
  console.log(`${entry}: ${size.gzip} B min+gzip (budget ${budget} B), ${size.minified} B min, ${size.brotli} B brotli`);
  expect(size.gzip).toBeGreaterThan(0);
  expect(size.gzip).toBeLessThanOrEqual(budget);
});
