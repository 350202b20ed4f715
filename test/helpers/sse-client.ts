import { waitFor } from './spawn-process.ts';

/** One server-sent event as a client sees it. */
export interface SseEvent {
  id?: string;
  event: string;
  data: any;
}

export interface SseClient {
  status: number;
  events: SseEvent[];
  /** Comment lines (`: ...`) seen so far. */
  comments: string[];
  /** Resolves with the first event (from the start) that matches, within the deadline. */
  waitForEvent(match: (event: SseEvent) => boolean, timeoutMs?: number, message?: string): Promise<SseEvent>;
  close(): void;
}

/** Opens an event stream and parses it as it arrives; the connection stays open until close(). */
export async function openSse(url: string, headers: Record<string, string>): Promise<SseClient> {
  const controller = new AbortController();
  const response = await fetch(url, { headers, signal: controller.signal });
  const events: SseEvent[] = [];
  const comments: string[] = [];
  const client: SseClient = {
    status: response.status,
    events,
    comments,
    async waitForEvent(match, timeoutMs = 10_000, message = 'an event') {
      await waitFor(() => events.some(match), timeoutMs, { message });
      return events.find(match)!;
    },
    close: () => controller.abort(),
  };
  if (!response.ok || !response.body) {
    events.push({ event: 'error', data: await response.text() });
    return client;
  }
  void (async () => {
    let text = '';
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        text += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = text.indexOf('\n\n')) >= 0) {
          const block = text.slice(0, end);
          text = text.slice(end + 2);
          const event: SseEvent = { event: 'message', data: undefined };
          let isEvent = false;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim());
            else if (line.startsWith('id: ')) event.id = line.slice(4);
            else if (line.startsWith('event: ')) ((event.event = line.slice(7)), (isEvent = true));
            else if (line.startsWith('data: ')) ((event.data = JSON.parse(line.slice(6))), (isEvent = true));
          }
          if (isEvent) events.push(event);
        }
      }
    } catch {
      // Aborted by close(), or the server ended the stream.
    }
  })();
  return client;
}
