// A view's change stream (DESIGN §6): its stored deltas from `from` (catch-up), then live deltas as the
// maintainer writes them, with no gap and no duplicate — the same hand-over as tx subscriptions (§5).

import { LaggedError, type SubscribeOptions, type ViewDeltaEvent } from '../core/strata-api.js';
import type { Store } from '../store/rocks.js';
import type { ViewMaintainer } from './maintainer.js';
import { deltasBetween, type ViewDelta } from './rows.js';

function event(d: ViewDelta): ViewDeltaEvent {
  return { offset: d.offset, added: d.added, removed: d.removed };
}

/** Deltas read per catch-up page. */
const CATCH_UP_PAGE = 256;

/**
 * Catch-up reads the stored deltas up to the maintained offset; live deltas are only queued once the
 * stream has caught up, and they fire only after the maintained offset moved past them, so the switch
 * at `end` neither misses nor repeats one.
 */
export async function* subscribeView(store: Store, maintainer: ViewMaintainer, view: string, from: number | undefined, options: SubscribeOptions): AsyncGenerator<ViewDeltaEvent> {
  const { signal, bufferMax } = options;
  let next = from ?? maintainer.offset + 1;
  let live = false;
  let overflow = false;
  const queue: ViewDelta[] = [];
  let wake: (() => void) | null = null;
  const onDelta = (d: ViewDelta): void => {
    if (live && d.view === view) {
      if (queue.length < bufferMax) queue.push(d);
      else if (!overflow) {
        overflow = true;
        options.onOverflow?.();
      }
    }
    wake?.();
  };
  const onAbort = (): void => wake?.();
  maintainer.on('delta', onDelta);
  signal.addEventListener('abort', onAbort);
  try {
    while (!signal.aborted) {
      if (!live) {
        const end = maintainer.offset;
        if (next > end) {
          live = true; // from here every delta has an offset above `end`
          continue;
        }
        const page = await deltasBetween(store, view, next, end, CATCH_UP_PAGE);
        for (const d of page) {
          if (signal.aborted) return;
          yield event(d);
          next = d.offset + 1;
        }
        if (page.length < CATCH_UP_PAGE) next = end + 1;
        continue;
      }
      const d = queue.shift();
      if (d) {
        if (d.offset >= next) {
          yield event(d);
          next = d.offset + 1;
        }
        continue;
      }
      if (overflow) throw new LaggedError(next);
      await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
    }
  } finally {
    maintainer.off('delta', onDelta);
    signal.removeEventListener('abort', onAbort);
  }
}
