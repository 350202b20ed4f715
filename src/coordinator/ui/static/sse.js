/**
 * The watch stream read with fetch(): EventSource cannot send an Authorization header, and the
 * token must never go into a URL. Parses server-sent events as the HTML standard describes them
 * and reconnects after the stream's `retry` with Last-Event-ID, so nothing is missed.
 */
export class SseParser {
  constructor() {
    this.buffer = '';
    this.reset();
  }

  reset() {
    this.data = [];
    this.event = '';
    this.id = undefined;
  }

  /** Feeds text; returns what it completed: events `{type, data, id}`, `{retry}` and `{comment}`. */
  push(text) {
    this.buffer += text;
    const out = [];
    let match;
    const line = /\r\n|\r(?!$)|\n/g;
    let start = 0;
    while ((match = line.exec(this.buffer)) !== null) {
      this.line(this.buffer.slice(start, match.index), out);
      start = match.index + match[0].length;
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }

  line(text, out) {
    if (text === '') {
      if (this.data.length > 0) out.push({ type: this.event || 'message', data: this.data.join('\n'), id: this.id });
      else if (this.id !== undefined) out.push({ type: '', data: '', id: this.id });
      this.reset();
      return;
    }
    if (text.startsWith(':')) return void out.push({ comment: text.slice(1).trim() });
    const colon = text.indexOf(':');
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.id = value;
    else if (field === 'retry' && /^[0-9]+$/.test(value)) out.push({ retry: Number(value) });
  }
}

const OPENING = /^watching transitions after ([0-9]+)$/;

/**
 * Follows the watch stream (GET /api/v1/watch) until `signal` aborts. `handlers`:
 * onEvent({type, data, id}), onState('connecting'|'live'|'reconnecting', detail), onFatal(status)
 * for a refused token. `token` is a function: the token is read again on each connection.
 */
export async function followWatch(token, handlers, signal, url = '/api/v1/watch') {
  let lastEventId;
  let retryMs = 1000;
  while (!signal.aborted) {
    try {
      handlers.onState(lastEventId === undefined ? 'connecting' : 'reconnecting');
      const headers = { authorization: `Bearer ${token()}`, accept: 'text/event-stream' };
      if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
      const response = await fetch(url, { headers, signal, cache: 'no-store' });
      if (response.status === 401 || response.status === 403) {
        handlers.onFatal(response.status);
        return;
      }
      if (!response.ok || !response.body) throw new Error(`watch stream answered ${response.status}`);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      const parser = new SseParser();
      let openedAfter;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const item of parser.push(value)) {
          if (item.retry !== undefined) retryMs = Math.min(Math.max(item.retry, 250), 30_000);
          else if (item.comment !== undefined) {
            // The opening comment names the newest id already recorded: resume after it even if no event comes.
            const opening = OPENING.exec(item.comment);
            if (opening) {
              openedAfter = opening[1];
              if (lastEventId === undefined) lastEventId = openedAfter;
              handlers.onState('live');
            }
          } else {
            if (item.id !== undefined) lastEventId = item.id;
            // After a resync the client lists everything again: what it must not miss starts where this stream went live.
            else if (item.type === 'resync' && openedAfter !== undefined) lastEventId = openedAfter;
            if (item.type) handlers.onEvent(item);
          }
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      handlers.onState('reconnecting', error instanceof Error ? error.message : String(error));
    }
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, retryMs);
      signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });
  }
}
