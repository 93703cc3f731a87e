/**
 * Where cron.php's text goes. In the CLI it is process.stdout, line by line as it happens; in web mode it is
 * the HTTP response. Tests may collect it.
 */
export interface TextSink {
  /** Writes one line (a newline is appended), like cron.php's `$oP->p()`. */
  line(text: string): void;
  /** Writes raw text without a newline (the bootstrap maintenance message). */
  raw(text: string): void;
  /** True when a person reads it on a terminal (colours are then welcome; src/output/human.ts). */
  readonly isTTY?: boolean;
  /**
   * Resolves when the destination has taken what was written (at once when it has room, or is gone), so
   * that a long text produced faster than it is read is not all held in memory. Optional.
   */
  drained?(): Promise<void>;
}

/** Resolves at the stream's next 'drain' (or its end) when its buffer is full; at once otherwise. */
export function whenDrained(stream: NodeJS.WritableStream): Promise<void> {
  const s = stream as NodeJS.WritableStream & { writableNeedDrain?: boolean; destroyed?: boolean };
  if (s.writableNeedDrain !== true || s.destroyed === true) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      for (const e of ['drain', 'close', 'error']) s.removeListener(e, done);
      resolve();
    };
    for (const e of ['drain', 'close', 'error']) s.once(e, done);
  });
}

/**
 * A sink writing to a stream synchronously enough for crontab redirection. A reader that goes away
 * (`itop-cron ... | head`, a closed terminal) must not crash the run with EPIPE: the run goes on and its
 * text is dropped, as PHP's echo does.
 */
export function streamSink(stream: NodeJS.WritableStream): TextSink {
  let open = true;
  stream.on('error', () => {
    open = false;
  });
  const write = (text: string): void => {
    if (open) stream.write(text);
  };
  return {
    line: (text) => write(`${text}\n`),
    raw: write,
    isTTY: (stream as { isTTY?: boolean }).isTTY === true,
    drained: () => (open ? whenDrained(stream) : Promise.resolve()),
  };
}

/** A sink that remembers every line (tests, web mode buffering). */
export function memorySink(): TextSink & { text(): string } {
  const chunks: string[] = [];
  return {
    line: (text) => void chunks.push(`${text}\n`),
    raw: (text) => void chunks.push(text),
    text: () => chunks.join(''),
  };
}
