/** The console's composables: plain TypeScript (checked by `tsc`), used by the .vue components. */
import type { ConversationSnapshot } from '@org/live-chat-client';
import { useLiveChatClient } from '@org/live-chat-client/vue';
import { type Ref, onScopeDispose, readonly, ref, shallowRef, toValue, watch, type MaybeRefOrGetter } from 'vue';
import { type ConversationRow, conversations, history } from '../../shared/api.js';
import { mergeRows, oldestSeq, upsertRow } from '../../shared/console.js';

/** The current time, refreshed every second while `ticking` is true. */
export function useNow(ticking: MaybeRefOrGetter<boolean>): Readonly<Ref<number>> {
  const now = ref(Date.now());
  let timer: ReturnType<typeof setInterval> | undefined;
  const stop = () => {
    clearInterval(timer);
    timer = undefined;
  };
  watch(
    () => toValue(ticking),
    (on) => {
      stop();
      if (!on) return;
      now.value = Date.now();
      timer = setInterval(() => {
        now.value = Date.now();
      }, 1000);
    },
    { immediate: true },
  );
  onScopeDispose(stop);
  return readonly(now);
}

/**
 * The conversations, newest first, kept live by `conversation_updated`; `error` when the list
 * could not be loaded. `conversation_updated` is not replayed: what changed while the socket was
 * down (or before the first connection) is only in the HTTP list, so it is loaded again on every
 * (re)connection.
 */
export function useConversationRows(token: MaybeRefOrGetter<string>): {
  rows: Readonly<Ref<readonly ConversationRow[]>>;
  error: Readonly<Ref<string | undefined>>;
} {
  const client = useLiveChatClient();
  const rows = shallowRef<readonly ConversationRow[]>([]);
  const error = ref<string>();
  const connections = ref(0);
  onScopeDispose(
    client.on('state', ({ current }) => {
      if (current === 'connected') connections.value++;
    }),
  );
  watch(
    [() => toValue(token), connections],
    ([current], _previous, onCleanup) => {
      let cancelled = false;
      conversations(current).then(
        (list) => {
          if (cancelled) return;
          error.value = undefined;
          rows.value = mergeRows(rows.value, list);
        },
        (reason: Error) => {
          if (!cancelled) error.value = reason.message;
        },
      );
      onCleanup(() => {
        cancelled = true;
      });
    },
    { immediate: true },
  );
  onScopeDispose(
    client.on('conversation_updated', (payload) => {
      rows.value = upsertRow(rows.value, payload as unknown as ConversationRow);
    }),
  );
  return { rows, error: readonly(error) };
}

/**
 * The conversation's history: the newest page on open and again whenever the server could not
 * replay a gap (`resyncRequired`), older pages on demand. Pages go into the SDK's conversation
 * (`addHistory`), which merges them with the live messages by seq.
 */
export function useHistory(
  id: MaybeRefOrGetter<string>,
  token: MaybeRefOrGetter<string>,
  snapshot: Readonly<Ref<ConversationSnapshot>>,
): { hasMore: Readonly<Ref<boolean>>; loadOlder: () => void } {
  const client = useLiveChatClient();
  const hasMore = ref(false);
  let active = true;
  onScopeDispose(() => {
    active = false;
  });
  const load = (beforeSeq?: number) => {
    const current = toValue(id);
    history(toValue(token), current, beforeSeq).then(
      (page) => {
        if (!active || current !== toValue(id)) return;
        client.conversation(current).addHistory(page.messages);
        hasMore.value = page.hasMore;
      },
      () => undefined,
    );
  };
  watch(() => toValue(id), () => load(), { immediate: true });
  watch(
    () => snapshot.value.resyncRequired,
    (resync) => {
      if (resync) load();
    },
  );
  return {
    hasMore: readonly(hasMore),
    loadOlder: () => {
      const oldest = oldestSeq(snapshot.value.messages);
      if (oldest !== undefined) load(oldest);
    },
  };
}
