/**
 * The benchmarks' in-memory store (test/bench/servers/memory-store.ts) keeps the Store contract,
 * so that the benchmark row that runs our server on it compares like with like.
 */
import { MemoryStore } from '../bench/servers/memory-store.js';
import { describeStoreContract } from '../support/store-contract.js';

describeStoreContract('in memory (benchmarks only)', async () => {
  const store = new MemoryStore();
  return { store, second: async () => store, close: () => store.close() };
});
