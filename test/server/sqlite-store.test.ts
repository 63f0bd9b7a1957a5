import { join } from 'node:path';
import { SqliteStore } from '../../examples/server/src/store/sqlite.js';
import { tempDir } from '../support/reference-server.js';
import { describeStoreContract } from '../support/store-contract.js';

describeStoreContract('SQLite in memory', async () => {
  const store = new SqliteStore(':memory:');
  return { store, second: async () => store, close: () => store.close() };
});

describeStoreContract('SQLite file, two connections', async () => {
  const dir = tempDir();
  const path = join(dir.path, 'live-chat.sqlite');
  const stores = [new SqliteStore(path)];
  return {
    store: stores[0]!,
    second: async () => {
      const store = new SqliteStore(path);
      stores.push(store);
      return store;
    },
    close: async () => {
      for (const store of stores) await store.close();
      dir.remove();
    },
  };
});
