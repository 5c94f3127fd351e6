import type { Socket } from "bun";

/**
 * A minimal HTTP/1.1 GET client for the load generator: a fixed pool of
 * keep-alive connections, one request in flight per connection (Bun's server
 * closes a connection that pipelines), the rest queued in order. Responses
 * are read by Content-Length. It costs far less CPU per request than fetch,
 * so at 10K requests/s the generator measures the server, not itself.
 */

type Request = { path: string; resolve(status: number): void; reject(error: Error): void };
type Connection = { socket?: Socket<undefined>; current?: Request; buffer: Buffer };

const HEADER_END = Buffer.from("\r\n\r\n");

export async function httpPool(url: string, connections: number, headers: Record<string, string> = {}) {
  const { hostname, port } = new URL(url);
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");
  const waiting: Request[] = [];
  const idle: Connection[] = [];

  const start = (conn: Connection, request: Request) => {
    conn.current = request;
    conn.socket!.write(`GET ${request.path} HTTP/1.1\r\nhost: ${hostname}\r\n${extra}\r\n`);
  };
  const release = (conn: Connection) => {
    conn.current = undefined;
    const next = waiting.shift();
    if (next) start(conn, next);
    else idle.push(conn);
  };
  const receive = (conn: Connection) => {
    const end = conn.buffer.indexOf(HEADER_END);
    if (end < 0 || !conn.current) return;
    const head = conn.buffer.subarray(0, end).toString("latin1");
    const length = Number(head.match(/\r\ncontent-length:\s*(\d+)/i)?.[1] ?? 0);
    if (conn.buffer.length < end + 4 + length) return;
    conn.buffer = conn.buffer.subarray(end + 4 + length);
    const request = conn.current;
    release(conn);
    request.resolve(Number(head.slice(9, 12)));
  };

  await Promise.all(
    Array.from({ length: connections }, async () => {
      const conn: Connection = { buffer: Buffer.alloc(0) };
      conn.socket = await Bun.connect({
        hostname,
        port: Number(port),
        socket: {
          data(_socket, chunk) {
            conn.buffer = conn.buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([conn.buffer, chunk]);
            receive(conn);
          },
          close() {
            conn.current?.reject(new Error("connection closed"));
            conn.current = undefined;
          },
        },
      });
      idle.push(conn);
    }),
  );

  return {
    /** GET a path; resolves with the status code once a connection has carried it. */
    get(path: string): Promise<number> {
      return new Promise((resolve, reject) => {
        const request = { path, resolve, reject };
        const conn = idle.pop();
        if (conn) start(conn, request);
        else waiting.push(request);
      });
    },
    close() {
      for (const conn of idle) conn.socket?.end();
    },
  };
}
