/**
 * A raw TCP connection for HTTP tests that fetch cannot express: chunked uploads stopped half-way, bodies that never
 * finish, garbage bytes. Every wait is event-driven with a timeout as a hang guard (never as synchronisation).
 */
import net from "node:net";

export class RawConn {
  private data = Buffer.alloc(0);
  closed = false;
  private waiters: (() => void)[] = [];

  private constructor(private readonly socket: net.Socket) {
    socket.on("data", (d: Buffer) => {
      this.data = Buffer.concat([this.data, d]);
      this.wake();
    });
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
    // Resets by the server are expected in these tests; they end as "closed".
    socket.on("error", () => {});
  }

  /** `localAddress`: the address to connect from (any 127/8 address on Linux), to be another client source. */
  static open(port: number, host = "127.0.0.1", localAddress?: string): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const s = net.connect(localAddress === undefined ? { port, host } : { port, host, localAddress });
      s.once("connect", () => resolve(new RawConn(s)));
      s.once("error", reject);
    });
  }

  /** Everything received so far, as latin1 text. */
  get text(): string {
    return this.data.toString("latin1");
  }

  /** Writes bytes; a string is taken as latin1 (one byte per char), so "\xff" is the byte 0xff. */
  write(chunk: string | Uint8Array): void {
    if (!this.socket.destroyed) this.socket.write(typeof chunk === "string" ? Buffer.from(chunk, "latin1") : chunk);
  }

  /** Half-closes our side (FIN). */
  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Resolves once `pred(text)` holds or the connection closed; rejects after `timeoutMs` (a hang guard). */
  waitFor(pred: (text: string) => boolean, timeoutMs = 5000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`raw connection: condition not met within ${timeoutMs} ms; got ${JSON.stringify(this.text.slice(0, 300))}`)), timeoutMs);
      const check = (): void => {
        if (pred(this.text) || this.closed) {
          clearTimeout(timer);
          resolve();
        } else this.waiters.push(check);
      };
      check();
    });
  }

  waitClose(timeoutMs = 5000): Promise<void> {
    return this.waitFor(() => false, timeoutMs);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** Parses the first HTTP response in `text`: status, lower-cased headers and the body (by Content-Length). */
export function parseResponse(text: string): { status: number; headers: Map<string, string>; body: string } | undefined {
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  const lines = text.slice(0, end).split("\r\n");
  const m = /^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? "");
  if (m === null) return undefined;
  const headers = new Map<string, string>();
  for (const l of lines.slice(1)) {
    const i = l.indexOf(":");
    if (i > 0) headers.set(l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim());
  }
  const len = Number(headers.get("content-length") ?? "0");
  const body = text.slice(end + 4, end + 4 + len);
  if (body.length < len) return undefined;
  return { status: Number(m[1]), headers, body };
}

/** True once `text` holds one complete response. */
export function hasResponse(text: string): boolean {
  return parseResponse(text) !== undefined;
}
