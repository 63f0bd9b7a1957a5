import { createHmac, timingSafeEqual } from 'node:crypto';
import type { MessageContent } from '../../../src/protocol.js';

/** A customer message taken from a LINE webhook body. */
export interface CustomerMessage {
  conversationId: string;
  message: MessageContent;
  /** LINE's message id: deduplicates webhook redeliveries. */
  externalId: string | undefined;
}

/** Whether `signature` (the `x-line-signature` header) is the base64 HMAC-SHA256 of `body` under the channel secret. */
export function validSignature(body: Buffer, signature: string | undefined, channelSecret: string): boolean {
  if (!signature) return false;
  const expected = createHmac('sha256', channelSecret).update(body).digest();
  const given = Buffer.from(signature, 'base64');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Signs a body as LINE does (for `npm run simulate` and tests). */
export function sign(body: string, channelSecret: string): string {
  return createHmac('sha256', channelSecret).update(body).digest('base64');
}

/**
 * The user text messages of a LINE webhook body (`{ destination, events: [...] }`); other events
 * (follow, postback, stickers, …) are skipped. Throws on a body that is not a webhook at all.
 */
export function customerMessages(body: unknown): CustomerMessage[] {
  if (typeof body !== 'object' || body === null || !Array.isArray((body as { events?: unknown }).events)) {
    throw new Error('not a LINE webhook body: "events" must be an array');
  }
  const result: CustomerMessage[] = [];
  for (const event of (body as { events: unknown[] }).events) {
    const { type, source, message } = (event ?? {}) as {
      type?: unknown;
      source?: { type?: unknown; userId?: unknown };
      message?: { type?: unknown; text?: unknown; id?: unknown };
    };
    if (type !== 'message' || source?.type !== 'user' || typeof source.userId !== 'string') continue;
    if (message?.type !== 'text' || typeof message.text !== 'string' || message.text === '') continue;
    result.push({
      conversationId: source.userId,
      message: { type: 'text', text: message.text },
      externalId: typeof message.id === 'string' ? message.id : undefined,
    });
  }
  return result;
}

/** A LINE webhook body with one text message event, as LINE would send it. */
export function textEvent(userId: string, text: string, messageId = `${Date.now()}${Math.floor(Math.random() * 1e6)}`): object {
  return {
    destination: 'Udeadbeefdeadbeefdeadbeefdeadbeef',
    events: [
      {
        type: 'message',
        mode: 'active',
        timestamp: Date.now(),
        source: { type: 'user', userId },
        webhookEventId: `01H${messageId}`,
        deliveryContext: { isRedelivery: false },
        replyToken: 'nHuyWiB7yP5Zw52FIkcQobQuGDXCTA',
        message: { id: messageId, type: 'text', quoteToken: 'q3Plxr4AgKd', text },
      },
    ],
  };
}
