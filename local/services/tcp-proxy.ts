import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { LOOPBACK, type RunningService } from './service';

/**
 * Where a query cut falls, relative to the MySQL packet whose statement matched.
 *
 * - `mid-packet`: the first half of the packet reaches the server, then both sockets close. The
 *   server never sees a whole statement, so it never runs it; it rolls back the session's open
 *   transaction when the connection goes.
 * - `before-reply`: the whole packet reaches the server, which runs the statement (a COMMIT
 *   commits); its reply is dropped and both sockets close, so the client never learns the outcome.
 * - `stall`: the packet is swallowed and both sockets stay open with nothing passing either way,
 *   as when a failover or a NAT blackholes a flow: no FIN or RST ever tells the client. The
 *   server never sees the statement; only a client-side timeout ends the wait.
 */
export type CutPoint = 'mid-packet' | 'before-reply' | 'stall';

export interface QueryCut {
  /** Tested against the start of the statement text (the first 200 characters). */
  match: RegExp;
  at: CutPoint;
  /** Matching statements to cut (default 1); later ones pass. */
  times?: number;
}

/** A COM_QUERY the proxy saw from a client, in order (statement text cut to its first 200 characters). */
export interface ForwardedQuery {
  /** 1-based number of the client connection, in order of acceptance. */
  connection: number;
  sql: string;
  /** Set when this statement triggered a cut. */
  cut?: CutPoint;
}

export interface TcpProxyOptions {
  /** Where connections go (MariaDB's host and port). */
  target: { host: string; port: number };
  /** 0 = any free port (default). */
  port?: number;
}

export interface TcpProxy extends RunningService {
  /** Arms a cut on the next `times` statements matching `match` (on any connection). */
  cutOnQuery(cut: QueryCut): void;
  /**
   * Lets `bytes` more client→server bytes through (over all connections) and cuts the connection
   * that carries the next one: a cut at an arbitrary point of the protocol, not tied to a statement.
   */
  cutAfterBytes(bytes: number): void;
  /** Cuts every open connection now (a failover or a NAT dropping idle flows); returns how many. */
  cutAll(): number;
  /** Drops armed cuts that have not fired. */
  clearFaults(): void;
  /** Cuts made so far (one per connection cut or stalled). */
  readonly cuts: number;
  /** Client connections accepted so far. */
  readonly connections: number;
  /** Client connections open now. */
  readonly openConnections: number;
  /** Every statement clients sent through the proxy, in order. */
  readonly queries: readonly ForwardedQuery[];
}

/** MySQL's COM_QUERY command byte: mysql2 sends `query()` (and START TRANSACTION, COMMIT, ROLLBACK) as one. */
const COM_QUERY = 0x03;
/** CLIENT_SSL capability flag: a 32-byte SSLRequest packet with it set precedes the TLS handshake. */
const CLIENT_SSL = 0x0800;
const SSL_REQUEST_PAYLOAD_BYTES = 32;
const SQL_PREFIX_CHARS = 200;

interface ArmedCut {
  match: RegExp;
  at: CutPoint;
  left: number;
}

/** One client connection and its upstream connection to the target. */
interface Pair {
  number: number;
  client: Socket;
  upstream: Socket;
  /** The next server→client bytes are the reply to a `before-reply` statement: drop them and cut. */
  withholdReply: boolean;
  /** After an SSLRequest the stream is TLS: it is passed through without looking at packets. */
  raw: boolean;
  /** A `stall` fired: nothing passes any more, but the sockets stay open until stop or cutAll. */
  stalled: boolean;
  closed: boolean;
  splitter: PacketSplitter;
}

/**
 * A TCP proxy on 127.0.0.1 in front of a MySQL server, for fault tests of the warehouse writer:
 * it cuts connections at chosen points of the MySQL protocol (half-way through an INSERT, a COMMIT
 * that commits but whose OK never reaches the client) and records the statements it forwarded, so
 * a test can show what a writer sent after the cut.
 *
 * Client→server traffic is forwarded packet by packet (a packet is held until it is complete, so a
 * statement's text can be matched before any of it is sent on); server→client traffic streams
 * through. Plain (non-TLS, uncompressed) protocol only: after an SSLRequest the connection is
 * passed through untouched and no cut by statement applies to it.
 */
export async function startTcpProxy(options: TcpProxyOptions): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  const armed: ArmedCut[] = [];
  const queries: ForwardedQuery[] = [];
  let byteBudget: number | undefined;
  let accepted = 0;
  let cuts = 0;

  const close = (pair: Pair) => {
    if (pair.closed) return;
    pair.closed = true;
    pairs.delete(pair);
    pair.client.destroy();
    pair.upstream.destroy();
  };
  const cut = (pair: Pair) => {
    if (pair.closed) return;
    cuts++;
    close(pair);
  };

  /** Writes client bytes upstream, honouring `cutAfterBytes`; false when the pair was cut. */
  const forward = (pair: Pair, bytes: Buffer): boolean => {
    if (byteBudget !== undefined && bytes.length > byteBudget) {
      const allowed = bytes.subarray(0, byteBudget);
      byteBudget = undefined;
      writeThenCut(pair, allowed);
      return false;
    }
    if (byteBudget !== undefined) byteBudget -= bytes.length;
    pair.upstream.write(bytes);
    return true;
  };
  /** The bytes reach the kernel first, so the server really receives the partial packet before EOF. */
  const writeThenCut = (pair: Pair, bytes: Buffer) => {
    if (bytes.length === 0) {
      cut(pair);
      return;
    }
    pair.upstream.write(bytes, () => cut(pair));
    // Nothing more from this client may reach the server in the meantime.
    pair.client.pause();
  };

  const onPacket = (pair: Pair, packet: Buffer): boolean => {
    const sequence = packet[3];
    const command = packet[4];
    if (
      sequence === 1 &&
      packet.length === 4 + SSL_REQUEST_PAYLOAD_BYTES &&
      packet.readUInt32LE(4) & CLIENT_SSL
    ) {
      pair.raw = true;
      return forward(pair, packet);
    }
    // Sequence 0 starts a command; the handshake response and auth packets carry later numbers.
    if (sequence !== 0 || command !== COM_QUERY) return forward(pair, packet);
    const sql = packet
      .subarray(5, 5 + SQL_PREFIX_CHARS * 4)
      .toString('utf8')
      .slice(0, SQL_PREFIX_CHARS);
    const query: ForwardedQuery = { connection: pair.number, sql };
    queries.push(query);
    // search(), not test(): a /g pattern's lastIndex would make test() skip matches.
    const rule = armed.find((candidate) => candidate.left > 0 && sql.search(candidate.match) >= 0);
    if (rule === undefined) return forward(pair, packet);
    rule.left--;
    query.cut = rule.at;
    if (rule.at === 'stall') {
      pair.stalled = true;
      cuts++;
      return false;
    }
    if (rule.at === 'mid-packet') {
      // At least the header and the command byte, never the whole packet.
      writeThenCut(pair, packet.subarray(0, Math.max(5, Math.floor(packet.length / 2))));
      return false;
    }
    pair.withholdReply = true;
    return forward(pair, packet);
  };

  const server: Server = createServer((client) => {
    accepted++;
    const upstream = createConnection({ host: options.target.host, port: options.target.port });
    const pair: Pair = {
      number: accepted,
      client,
      upstream,
      withholdReply: false,
      raw: false,
      stalled: false,
      closed: false,
      splitter: new PacketSplitter(),
    };
    pairs.add(pair);
    client.setNoDelay(true);
    upstream.setNoDelay(true);

    client.on('data', (chunk: Buffer) => {
      if (pair.closed || pair.stalled) return;
      if (pair.raw) {
        forward(pair, chunk);
        return;
      }
      pair.splitter.push(chunk);
      for (let packet = pair.splitter.next(); packet !== undefined; packet = pair.splitter.next()) {
        if (!onPacket(pair, packet)) return;
        if (pair.raw) {
          // Bytes after the SSLRequest already belong to the TLS handshake, not to MySQL packets.
          const rest = pair.splitter.drain();
          if (rest.length > 0) forward(pair, rest);
          return;
        }
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      if (pair.closed || pair.stalled) return;
      if (pair.withholdReply) {
        cut(pair);
        return;
      }
      client.write(chunk);
    });
    // A half-close is passed on, so a server's last bytes before its FIN still reach the client;
    // an error on either side, or the client going, ends both.
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    upstream.on('close', () => client.end());
    client.on('close', () => close(pair));
    for (const socket of [client, upstream]) socket.on('error', () => close(pair));
  });

  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, LOOPBACK, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : 0);
    });
  });

  return {
    name: 'tcp-proxy',
    endpoint: `tcp://${LOOPBACK}:${port}`,
    port,
    cutOnQuery(rule) {
      const times = rule.times ?? 1;
      if (!Number.isInteger(times) || times < 1)
        throw new RangeError(`times must be a positive integer, not ${times}`);
      armed.push({ match: rule.match, at: rule.at, left: times });
    },
    cutAfterBytes(bytes) {
      if (!Number.isInteger(bytes) || bytes < 0)
        throw new RangeError(`bytes must be an integer >= 0, not ${bytes}`);
      byteBudget = bytes;
    },
    cutAll() {
      const open = [...pairs];
      for (const pair of open) cut(pair);
      return open.length;
    },
    clearFaults() {
      armed.length = 0;
      byteBudget = undefined;
    },
    get cuts() {
      return cuts;
    },
    get connections() {
      return accepted;
    },
    get openConnections() {
      return pairs.size;
    },
    get queries() {
      return queries;
    },
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const pair of [...pairs]) close(pair);
      await closed;
    },
  };
}

/**
 * Splits a byte stream into MySQL packets: a 3-byte little-endian payload length, a sequence
 * number, the payload. Chunks are kept until a whole packet is there, then joined once, so a
 * 150 KB INSERT arriving in 64 KB reads is not copied again on every read.
 */
class PacketSplitter {
  private chunks: Buffer[] = [];
  private length = 0;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** The next whole packet, or undefined until more bytes arrive. */
  next(): Buffer | undefined {
    if (this.length < 4) return undefined;
    const first = this.chunks[0];
    const head = first !== undefined && first.length >= 3 ? first : Buffer.concat(this.chunks);
    const size = 4 + head.readUIntLE(0, 3);
    if (this.length < size) return undefined;
    const all = this.chunks.length === 1 && first !== undefined ? first : Buffer.concat(this.chunks);
    const rest = all.subarray(size);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.length = rest.length;
    return all.subarray(0, size);
  }

  /** Whatever is held that is not a whole packet (the start of a TLS handshake after an SSLRequest). */
  drain(): Buffer {
    const rest = Buffer.concat(this.chunks);
    this.chunks = [];
    this.length = 0;
    return rest;
  }
}
