import fc from 'fast-check';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { type ServerEnvelope, type ServerMessageType, isLiveChatError } from '../../src/index.js';
import { decode, encode } from '../../src/protocol.js';

/** A valid frame's envelope (decode throws the reason of an invalid one). */
function ok(data: unknown) {
  return decode(data);
}

/** decode has two outcomes only: an envelope, or a LiveChatError `invalid_frame` with a reason (undefined here). */
function outcome(data: unknown): ServerEnvelope | undefined {
  try {
    return decode(data);
  } catch (error) {
    expect(isLiveChatError(error, 'invalid_frame')).toBe(true);
    expect((error as Error).message).toEqual(expect.any(String));
    return undefined;
  }
}

function frame(type: string, payload?: unknown, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ type, ...(payload !== undefined && { payload }), timestamp: '2024-01-01T00:00:00.000Z', ...extra });
}

const known: ServerMessageType[] = [
  'auth_success',
  'auth_error',
  'message_received',
  'message_sent',
  'typing_started',
  'typing_stopped',
  'conversation_updated',
  'operator_joined',
  'operator_left',
  'pong',
  'error',
];

describe('encode', () => {
  test('writes the envelope { type, payload, timestamp }', () => {
    const parsed = JSON.parse(encode('join_conversation', { line_user_id: 'U1', since_seq: 3 })) as Record<string, unknown>;
    expect(parsed).toEqual({ type: 'join_conversation', payload: { line_user_id: 'U1', since_seq: 3 }, timestamp: expect.any(String) });
    expect(new Date(parsed.timestamp as string).toISOString()).toBe(parsed.timestamp);
  });

  test('the timestamp is the time of sending, to the millisecond (formatted once per millisecond)', () => {
    vi.useFakeTimers({ now: Date.parse('2026-01-02T03:04:05.006Z') });
    const stamp = () => (JSON.parse(encode('ping', {})) as { timestamp: string }).timestamp;
    expect(stamp()).toBe('2026-01-02T03:04:05.006Z');
    expect(stamp()).toBe('2026-01-02T03:04:05.006Z');
    vi.advanceTimersByTime(1);
    expect(stamp()).toBe('2026-01-02T03:04:05.007Z');
    vi.setSystemTime(Date.parse('2025-12-31T23:59:59.999Z')); // a clock set back
    expect(stamp()).toBe('2025-12-31T23:59:59.999Z');
  });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('decode: valid frames', () => {
  test('keeps type, payload and timestamp', () => {
    expect(ok(frame('auth_success', { admin_id: 'a1', name: 'Ann' }))).toEqual({
      type: 'auth_success',
      payload: { admin_id: 'a1', name: 'Ann' },
      timestamp: '2024-01-01T00:00:00.000Z',
    });
  });

  test('fills a missing timestamp and a missing payload where nothing is required', () => {
    const envelope = ok(JSON.stringify({ type: 'pong' }));
    expect(envelope.payload).toEqual({});
    expect(typeof envelope.timestamp).toBe('string');
    expect(Number.isNaN(Date.parse(envelope.timestamp))).toBe(false);
  });

  test('normalizes numeric ids to strings', () => {
    expect(ok(frame('message_sent', { admin_id: 1, line_user_id: 2, message: { type: 'text', text: 'x' }, temp_id: 3, seq: 4 })).payload).toEqual({
      admin_id: '1',
      line_user_id: '2',
      message: { type: 'text', text: 'x' },
      temp_id: '3',
      seq: 4,
    });
    expect(ok(frame('operator_joined', { admin_id: 5, line_user_id: 'U', operators: [5, '6'] })).payload).toMatchObject({ operators: ['5', '6'] });
  });

  test('a bare string message becomes a text message', () => {
    expect(ok(frame('message_received', { line_user_id: 'U1', message: 'hi' })).payload).toMatchObject({ message: { type: 'text', text: 'hi' } });
  });

  test('null optional fields are dropped', () => {
    expect(ok(frame('message_received', { line_user_id: 'U1', message: 'hi', seq: null })).payload).not.toHaveProperty('seq');
  });

  test('error frames keep message and code as text', () => {
    expect(ok(frame('error', { message: 'nope', code: 'rate_limited', temp_id: 't' })).payload).toEqual({
      message: 'nope',
      code: 'rate_limited',
      temp_id: 't',
    });
  });

  test('unknown types pass through with their raw payload', () => {
    expect(ok(frame('future_feature', { anything: [1, 2] }))).toMatchObject({ type: 'future_feature', payload: { anything: [1, 2] } });
  });

  test('types named like Object.prototype members are unknown types, not a crash', () => {
    for (const type of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      expect(ok(frame(type, { a: 1 }))).toMatchObject({ type, payload: { a: 1 } });
    }
  });
});

describe('decode: invalid frames', () => {
  test.each([
    ['binary data', new ArrayBuffer(4)],
    ['a number', 42],
    ['not JSON', '{oops'],
    ['a JSON array', '[1,2]'],
    ['JSON null', 'null'],
    ['no type', JSON.stringify({ payload: {} })],
    ['an empty type', JSON.stringify({ type: '' })],
    ['a non-string type', JSON.stringify({ type: 3 })],
    ['a non-object payload', frame('pong', 'text')],
    ['an array payload', frame('pong', [])],
    ['auth_success without admin_id', frame('auth_success', {})],
    ['message_received without message', frame('message_received', { line_user_id: 'U1' })],
    ['message_received with a string seq', frame('message_received', { line_user_id: 'U1', message: 'x', seq: '3' })],
    ['message_sent with a message without type', frame('message_sent', { admin_id: 'a', line_user_id: 'U1', message: { text: 'x' } })],
    ['an object id', frame('typing_started', { admin_id: { id: 1 }, line_user_id: 'U1' })],
    ['an empty id', frame('typing_started', { admin_id: '', line_user_id: 'U1' })],
    ['operators that is not a list', frame('operator_joined', { admin_id: 'a', line_user_id: 'U', operators: 'a,b' })],
    ['operators with a bad id', frame('operator_left', { admin_id: 'a', line_user_id: 'U', operators: ['a', null] })],
    ['an error with a numeric code', frame('error', { code: 500 })],
  ])('%s', (_, data) => {
    expect(outcome(data)).toBeUndefined();
  });
});

describe('decode refuses with invalid_frame and never throws anything else', () => {
  test('on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (data) => {
        outcome(data);
      }),
      { numRuns: 500 },
    );
  });

  test('on arbitrary JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        outcome(JSON.stringify(value));
      }),
      { numRuns: 500 },
    );
  });

  test('on frames of every known type with arbitrary payloads, and only accepts object payloads', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...known, 'unknown_type'),
        fc.oneof(fc.jsonValue(), fc.dictionary(fc.constantFrom('admin_id', 'line_user_id', 'message', 'seq', 'temp_id', 'operators', 'code'), fc.jsonValue())),
        (type, payload) => {
          const envelope = outcome(JSON.stringify({ type, payload }));
          if (envelope) {
            expect(envelope.type).toBe(type);
            expect(typeof envelope.payload).toBe('object');
            expect(Array.isArray(envelope.payload)).toBe(false);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  test('on any non-string value (refused: not a text frame)', () => {
    fc.assert(
      fc.property(fc.anything().filter((value) => typeof value !== 'string'), (value) => {
        expect(outcome(value)).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });
});
