import type { Redis } from 'ioredis';
import { RedisStore } from '../../examples/server/src/redis.js';
import { useRedis } from '../support/redis.js';
import { describeStoreContract } from '../support/store-contract.js';

const redis = useRedis();

describeStoreContract('Redis, two connections', async () => {
  const connections: Redis[] = [await redis().connect()];
  return {
    store: new RedisStore(connections[0]!),
    second: async () => {
      const connection = await redis().connect();
      connections.push(connection);
      return new RedisStore(connection);
    },
    close: async () => {
      for (const connection of connections) connection.disconnect();
    },
  };
});
