// A minimal Server-Sent Events reader over fetch's streaming body, for tests that subscribe over real HTTP.

export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
}

export interface SseConnection {
  status: number;
  events: AsyncGenerator<SseEvent>;
  close(): void;
}

/** Opens an SSE stream; `events` yields parsed events until the server ends the stream or `close()` is called. */
export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseConnection> {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  async function* events(): AsyncGenerator<SseEvent> {
    if (res.body === null) return;
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    let current: SseEvent = { data: '' };
    let hasData = false;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl).replace(/\r$/, '');
          buffer = buffer.slice(nl + 1);
          if (line === '') {
            if (hasData || current.event !== undefined) yield current;
            current = { data: '' };
            hasData = false;
            continue;
          }
          if (line.startsWith(':')) continue; // comment (heartbeat)
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'data') {
            current.data = hasData ? `${current.data}\n${val}` : val;
            hasData = true;
          } else if (field === 'id') current.id = val;
          else if (field === 'event') current.event = val;
        }
      }
    } catch (err) {
      if (controller.signal.aborted) return;
      throw err;
    } finally {
      controller.abort();
    }
  }
  return { status: res.status, events: events(), close: () => controller.abort() };
}
