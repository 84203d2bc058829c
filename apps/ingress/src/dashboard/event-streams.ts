import type { ServerResponse } from 'node:http';

export interface EventStreamLimits {
  /** Open streams in all (DASHBOARD_MAX_STREAMS). */
  maxStreams: number;
  /** Open streams per client (an IPv6 client by its /64; DASHBOARD_MAX_STREAMS_PER_CLIENT). */
  maxPerClient: number;
  /** A stream that has not taken a frame for this long is closed: its reader is gone or stuck. */
  stalledAfterMs: number;
}

export const DEFAULT_STREAM_LIMITS: EventStreamLimits = { maxStreams: 200, maxPerClient: 5, stalledAfterMs: 30_000 };

interface Stream {
  res: ServerResponse;
  client: string;
  /** The newest frame this stream could not take yet: written at its next 'drain'. */
  waiting: string | undefined;
  /** When the socket last asked us to wait, while it still has not drained. */
  blockedSince: number | undefined;
}

export interface EventStreamStats {
  open: number;
  /** Frames not written to a stream that was not reading (a newer one replaces them). */
  skipped: number;
  /** Bytes held for all streams in our own buffers: bounded by about one frame per stream. */
  bufferedBytes: number;
  /** Streams refused at the caps, and closed for not reading. */
  refused: number;
  closedStalled: number;
}

/**
 * The dashboard's open server-sent-event streams, capped in total and per client. Each frame is
 * a whole snapshot, so a newer one makes an unsent one worthless: a stream whose socket is full
 * (`write` said wait) gets no more writes until it drains, then only the newest frame. What the
 * server holds for a client that never reads is at most the socket's buffer plus one frame, and
 * after `stalledAfterMs` without draining the stream is closed.
 */
export class EventStreams {
  readonly #limits: EventStreamLimits;
  readonly #streams = new Set<Stream>();
  readonly #perClient = new Map<string, number>();
  #skipped = 0;
  #refused = 0;
  #closedStalled = 0;

  constructor(limits: Partial<EventStreamLimits> = {}) {
    this.#limits = { ...DEFAULT_STREAM_LIMITS, ...limits };
  }

  /** Why a new stream for `client` would be refused, or undefined when it may open. */
  refusal(client: string): string | undefined {
    if (this.#streams.size >= this.#limits.maxStreams) return `the dashboard has ${this.#limits.maxStreams} viewers already`;
    if ((this.#perClient.get(client) ?? 0) >= this.#limits.maxPerClient) {
      return `at most ${this.#limits.maxPerClient} dashboard streams per client`;
    }
    return undefined;
  }

  /** Counts a refused stream (for the metrics). */
  refused(): void {
    this.#refused++;
  }

  /** Adds an open stream: `send` a frame to it, `remove` it when it closes. */
  add(res: ServerResponse, client: string): { send(frame: string): void; remove(): void } {
    const stream: Stream = { res, client, waiting: undefined, blockedSince: undefined };
    this.#streams.add(stream);
    this.#perClient.set(client, (this.#perClient.get(client) ?? 0) + 1);
    const onDrain = () => {
      stream.blockedSince = undefined;
      const frame = stream.waiting;
      stream.waiting = undefined;
      if (frame !== undefined) this.#write(stream, frame);
    };
    res.on('drain', onDrain);
    let removed = false;
    return {
      send: (frame) => this.#send(stream, frame),
      remove: () => {
        if (removed) return;
        removed = true;
        res.off('drain', onDrain);
        this.#streams.delete(stream);
        const n = (this.#perClient.get(client) ?? 1) - 1;
        if (n <= 0) this.#perClient.delete(client);
        else this.#perClient.set(client, n);
      },
    };
  }

  /** Ends every stream (at shutdown, so that none holds the server open). */
  endAll(): void {
    for (const stream of this.#streams) stream.res.end();
  }

  stats(): EventStreamStats {
    let bufferedBytes = 0;
    for (const s of this.#streams) bufferedBytes += s.res.writableLength + (s.waiting?.length ?? 0);
    return { open: this.#streams.size, skipped: this.#skipped, bufferedBytes, refused: this.#refused, closedStalled: this.#closedStalled };
  }

  /** Writes the frame if the stream is reading; else holds it, replacing an older one, and closes a stream stuck too long. */
  #send(stream: Stream, frame: string): void {
    if (stream.blockedSince === undefined) return this.#write(stream, frame);
    if (stream.waiting !== undefined) this.#skipped++;
    stream.waiting = frame;
    if (Date.now() - stream.blockedSince > this.#limits.stalledAfterMs) {
      this.#closedStalled++;
      stream.res.destroy();
    }
  }

  #write(stream: Stream, frame: string): void {
    if (!stream.res.write(frame)) stream.blockedSince = Date.now();
  }
}
