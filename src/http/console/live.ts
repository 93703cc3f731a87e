/**
 * The live output of the runs this server makes (cron page requests and the console's Run now), for the
 * console's server-sent events at /events. Lines are handed over in memory: a connected browser costs no
 * database query at all. Runs of other processes (a crontab's itop-cron, PHP's cron.php) are not seen here;
 * their outcomes reach the page through the run history at each refresh.
 */
import type { ServerResponse } from 'node:http';
import type { TextSink } from '../../output/stdout.js';

/** Lines kept for a browser that connects during a run (it sees the run from its start). */
const KEEP = 200;
/** Browsers listening at once; beyond, a new one is refused (each holds a socket). */
export const MAX_LISTENERS = 50;

export interface LiveOutput {
  /** A sink that copies every line into the live output. */
  tee(sink: TextSink): TextSink;
  /** Streams to `res` (already answered 200 text/event-stream) until it closes; false when too many listen. */
  listen(res: ServerResponse): boolean;
  /** Ends every stream (the server is stopping). */
  close(): void;
}

/** One SSE event carrying `text`: each of its lines as a `data:` field, so no line can end the event early. */
export function sseEvent(text: string): string {
  return `${text.split(/\r\n|\r|\n/).map((l) => `data: ${l}`).join('\n')}\n\n`;
}

export function createLiveOutput(): LiveOutput {
  const recent: string[] = [];
  const listeners = new Set<ServerResponse>();
  let partial = '';
  const publish = (line: string): void => {
    recent.push(line);
    if (recent.length > KEEP) recent.splice(0, recent.length - KEEP);
    const event = sseEvent(line);
    for (const res of listeners) if (!res.destroyed && !res.writableEnded) res.write(event);
  };
  const raw = (text: string): void => {
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) publish(l);
  };
  return {
    tee(sink) {
      return {
        line: (text) => {
          sink.line(text);
          raw(`${text}\n`);
        },
        raw: (text) => {
          sink.raw(text);
          raw(text);
        },
      };
    },
    listen(res) {
      if (listeners.size >= MAX_LISTENERS) return false;
      listeners.add(res);
      res.on('close', () => listeners.delete(res));
      for (const l of recent) res.write(sseEvent(l));
      return true;
    },
    close() {
      for (const res of listeners) res.end();
      listeners.clear();
    },
  };
}
