import {
  chance,
  exponential,
  integerBetween,
  logNormal,
  pick,
  type Random,
  randomText,
  WeightedChoice,
} from './random';

// Bound once: global lookups are slow under Jest's VM context (see random.ts).
const { floor, max, min, round } = Math;

/**
 * The 33 fields of the current CloudFront standard log (legacy format), in CloudFront's order, as
 * in the conformance files' `#Fields` line.
 */
export const FIELD_NAMES = [
  'date',
  'time',
  'x-edge-location',
  'sc-bytes',
  'c-ip',
  'cs-method',
  'cs(Host)',
  'cs-uri-stem',
  'sc-status',
  'cs(Referer)',
  'cs(User-Agent)',
  'cs-uri-query',
  'cs(Cookie)',
  'x-edge-result-type',
  'x-edge-request-id',
  'x-host-header',
  'cs-protocol',
  'cs-bytes',
  'time-taken',
  'x-forwarded-for',
  'ssl-protocol',
  'ssl-cipher',
  'x-edge-response-result-type',
  'cs-protocol-version',
  'fle-status',
  'fle-encrypted-fields',
  'c-port',
  'time-to-first-byte',
  'x-edge-detailed-result-type',
  'sc-content-type',
  'sc-content-len',
  'sc-range-start',
  'sc-range-end',
] as const;
export type FieldName = (typeof FIELD_NAMES)[number];

/** Position of a field in a row, for the planted problems that overwrite one field. */
export const fieldIndex = (name: FieldName): number => FIELD_NAMES.indexOf(name);

/** The two header lines CloudFront writes at the top of every file (space-separated `#Fields`). */
export const HEADER_LINES: readonly string[] = ['#Version: 1.0', `#Fields: ${FIELD_NAMES.join(' ')}`];

/** One CloudFront distribution: its id (file names), its domain (`cs(Host)`) and alternate names. */
export interface Distribution {
  id: string;
  domain: string;
  hostHeaders: WeightedChoice<string>;
}

/** A viewer: its address, the edge it usually reaches (by geography) and the agent it usually sends. */
interface Client {
  ip: string;
  homeEdge: string;
  userAgent: number;
}

type ResourceKind = 'html' | 'script' | 'style' | 'image' | 'font' | 'api' | 'document' | 'video' | 'text';

/** A requested object. Static objects keep one size (the same file is the same bytes each time). */
interface Resource {
  /** As CloudFront logs it: percent-encoded. */
  path: string;
  kind: ResourceKind;
  bytes: number;
}

const CONTENT_TYPES: Record<ResourceKind, string> = {
  html: 'text/html',
  script: 'application/javascript',
  style: 'text/css',
  image: 'image/jpeg',
  font: 'font/woff2',
  api: 'application/json',
  document: 'application/pdf',
  video: 'video/MP2T',
  text: 'text/plain',
};

/** Median body size in bytes and log-normal sigma per kind (rough web-page statistics). */
const BODY_SIZES: Record<ResourceKind, readonly [number, number]> = {
  html: [18_000, 0.8],
  script: [90_000, 1.0],
  style: [25_000, 0.7],
  image: [45_000, 1.1],
  font: [35_000, 0.4],
  api: [1_800, 1.2],
  document: [800_000, 1.0],
  video: [1_200_000, 0.4],
  text: [300, 0.5],
};

/** ~10 edges, weighted like a Europe/US-heavy audience; the suffix is CloudFront's POP naming. */
const EDGES = new WeightedChoice<string>([
  ['IAD89-C1', 14],
  ['IAD61-P2', 8],
  ['FRA56-P5', 12],
  ['LHR61-P1', 11],
  ['CDG52-P2', 7],
  ['AMS1-C1', 5],
  ['SFO53-C1', 9],
  ['NRT57-P3', 6],
  ['SIN52-C2', 4],
  ['GRU3-C1', 3],
  ['SYD62-P1', 2],
]);

/** Real user agents, as sent (spaces and all): CloudFront percent-encodes them when logging. */
const USER_AGENTS: readonly string[] = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67',
  'Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36',
  'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0',
  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
  'Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)',
  'Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko',
  'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/460.0.0.0;]',
  'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)',
  'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)',
  'curl/8.5.0',
  'python-requests/2.31.0',
  'okhttp/4.12.0',
  'Go-http-client/2.0',
  'Amazon CloudFront',
  'Wget/1.21.4',
  'MyApp/3.2.1 (iPhone; iOS 17.4; Scale/3.00) "beta"',
];

/** The agents as logged, encoded once here rather than on every row (it was a quarter of the cost). */
const LOGGED_USER_AGENTS: readonly string[] = USER_AGENTS.map((agent) => encodeLikeCloudFront(agent));

/** Browsers send a UA on every request; a few clients send none, which CloudFront logs as `-`. */
const NO_USER_AGENT = -1;

const EXTERNAL_REFERERS: readonly string[] = [
  'https://www.google.com/',
  'https://www.bing.com/',
  'https://duckduckgo.com/',
  'https://t.co/',
  'https://news.ycombinator.com/',
  'https://www.reddit.com/',
  'https://l.facebook.com/',
];

const WORDS: readonly string[] = [
  'pricing',
  'about',
  'contact',
  'careers',
  'product',
  'features',
  'release-notes',
  'getting-started',
  'install',
  'faq',
  'team',
  'security',
  'status',
  'partners',
  'caf%C3%A9',
  'na%C3%AFve-guide',
  'stra%C3%9Fe',
  '%E6%97%A5%E6%9C%AC%E8%AA%9E',
  'summer%20sale',
  'q%26a',
];

const LOWER_ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const HEX = '0123456789abcdef';

/** Everything that stays fixed across the rows of a sample: the pools values are drawn from. */
export interface World {
  distributions: Distribution[];
  clients: Client[];
  clientChoice: WeightedChoice<number>;
  resources: Resource[];
  resourceChoice: WeightedChoice<number>;
  /** Pages a request is referred from: the HTML resources, by the same popularity. */
  refererChoice: WeightedChoice<string>;
}

/** A CloudFront distribution id: `E` and 13 upper-case letters or digits, as AWS issues them. */
export function distributionIdFor(random: Random): string {
  return `E${randomText(random, UPPER_ALNUM, 13)}`;
}

/** Builds the pools: a few distributions, a few thousand clients, ~1,500 paths. */
export function buildWorld(random: Random, distributionIds: readonly string[]): World {
  const apexes = ['example.com', 'example.org', 'example.net'];
  const distributions = distributionIds.map((id, index): Distribution => {
    const domain = `d${randomText(random, LOWER_ALNUM, 13)}.cloudfront.net`;
    const apex = apexes[index % apexes.length] ?? 'example.com';
    return {
      id,
      domain,
      // Most viewers use the alternate domain names; a few hit the cloudfront.net name directly.
      hostHeaders: new WeightedChoice([
        [`www.${apex}`, 70],
        [apex, 12],
        [`static.${apex}`, 15],
        [domain, 3],
      ]),
    };
  });

  const clients: Client[] = [];
  const seen = new Set<string>();
  const clientCount = integerBetween(random, 2_500, 3_500);
  while (clients.length < clientCount) {
    const ip = chance(random, 0.12) ? ipv6(random) : ipv4(random);
    if (seen.has(ip)) continue;
    seen.add(ip);
    clients.push({
      ip,
      homeEdge: EDGES.sample(random),
      userAgent: chance(random, 0.01) ? NO_USER_AGENT : floor(random() * USER_AGENTS.length),
    });
  }

  const resources = buildResources(random);
  return {
    distributions,
    clients,
    // A few addresses (NAT gateways, crawlers) send many requests: Zipf with a mild exponent over
    // the pool, whose order is random, so the heavy hitters are arbitrary addresses.
    clientChoice: WeightedChoice.zipf(
      clients.map((_, index) => index),
      0.8,
    ),
    resources,
    // Popularity of paths: Zipf with s≈1.1, the home page and shared assets at the top.
    resourceChoice: WeightedChoice.zipf(
      resources.map((_, index) => index),
      1.1,
    ),
    refererChoice: WeightedChoice.zipf(
      resources.filter((resource) => resource.kind === 'html').map((resource) => resource.path),
      1.1,
    ),
  };
}

function buildResources(random: Random): Resource[] {
  const hash = () => randomText(random, HEX, 8);
  const sized = (path: string, kind: ResourceKind): Resource => {
    const [median, sigma] = BODY_SIZES[kind];
    return { path, kind, bytes: max(20, round(logNormal(random, median, sigma))) };
  };
  // The most popular objects, in rank order.
  const top: Resource[] = [
    sized('/', 'html'),
    sized(`/assets/js/app.${hash()}.js`, 'script'),
    sized(`/assets/css/main.${hash()}.css`, 'style'),
    { path: '/favicon.ico', kind: 'image', bytes: 15_086 },
    sized(`/assets/js/vendor.${hash()}.js`, 'script'),
    sized('/fonts/Inter-Regular.woff2', 'font'),
    sized('/index.html', 'html'),
    sized('/api/v1/session', 'api'),
    { path: '/robots.txt', kind: 'text', bytes: 67 },
    sized('/images/logo.png', 'image'),
  ];
  const rest: Resource[] = [];
  for (let index = 0; index < 1_500; index++) {
    const word = pick(random, WORDS);
    const n = integerBetween(random, 1, 9_999);
    const roll = random();
    if (roll < 0.3) rest.push(sized(`/images/${word}-${n}.${pick(random, ['jpg', 'png', 'webp'])}`, 'image'));
    else if (roll < 0.45) rest.push(sized(`/blog/${word}-${n}/`, 'html'));
    else if (roll < 0.55) rest.push(sized(`/${word}/${n}.html`, 'html'));
    else if (roll < 0.7)
      rest.push(sized(`/api/v1/${pick(random, ['items', 'users', 'carts', 'search'])}/${n}`, 'api'));
    else if (roll < 0.8) rest.push(sized(`/assets/js/chunk-${hash()}.js`, 'script'));
    else if (roll < 0.85) rest.push(sized(`/docs/${word}%20(${2015 + (n % 10)}).pdf`, 'document'));
    else if (roll < 0.93) rest.push(sized(`/video/${hash()}/segment-${n % 600}.ts`, 'video'));
    else rest.push(sized(`/images/photo%20${n}%20(${word}).jpg`, 'image'));
  }
  return [...top, ...rest];
}

function ipv4(random: Random): string {
  for (;;) {
    const a = integerBetween(random, 1, 223);
    const b = integerBetween(random, 0, 255);
    // Viewers on the internet: no private, loopback, CGNAT or link-local sources.
    if (a === 10 || a === 127 || (a === 100 && b >= 64 && b < 128) || (a === 169 && b === 254)) continue;
    if ((a === 172 && b >= 16 && b < 32) || (a === 192 && b === 168)) continue;
    return `${a}.${b}.${integerBetween(random, 0, 255)}.${integerBetween(random, 1, 254)}`;
  }
}

function ipv6(random: Random): string {
  const prefix = pick(random, ['2a02:cf40', '2001:4860', '2600:1700', '2a01:e0a', '2409:8a28', '2606:4700']);
  const groups = Array.from({ length: 6 }, () => integerBetween(random, 0, 0xffff).toString(16));
  return `${prefix}:${groups.join(':')}`;
}

/**
 * Percent-encodes a header value the way CloudFront logs it: spaces, quotes, backslashes, tabs,
 * non-ASCII and `%` itself, so a log field never holds a space or a tab.
 */
export function encodeLikeCloudFront(value: string): string {
  let encoded = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const keep = byte > 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x25 && byte !== 0x5c;
    encoded += keep ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return encoded;
}

const STATUSES = new WeightedChoice<number>([
  [200, 7_000],
  [304, 1_400],
  [206, 150],
  [301, 150],
  [302, 100],
  [400, 40],
  [403, 150],
  [404, 400],
  [405, 10],
  [416, 5],
  [429, 20],
  [500, 30],
  [502, 50],
  [503, 30],
  [504, 20],
  [0, 10], // `000`: the viewer went away before CloudFront answered
]);

const TLS13_CIPHERS = new WeightedChoice<string>([
  ['TLS_AES_128_GCM_SHA256', 70],
  ['TLS_AES_256_GCM_SHA384', 20],
  ['TLS_CHACHA20_POLY1305_SHA256', 10],
]);
const TLS12_CIPHERS = new WeightedChoice<string>([
  ['ECDHE-RSA-AES128-GCM-SHA256', 70],
  ['ECDHE-RSA-AES256-GCM-SHA384', 15],
  ['ECDHE-RSA-CHACHA20-POLY1305', 15],
]);
const API_METHODS = new WeightedChoice<string>([
  ['GET', 60],
  ['POST', 30],
  ['OPTIONS', 5],
  ['PUT', 3],
  ['DELETE', 2],
]);
const ORIGIN_ERRORS: readonly string[] = [
  'OriginConnectError',
  'OriginDnsError',
  'OriginCommError',
  'OriginReadError',
];

const seconds = (value: number) => min(5, max(0.001, value)).toFixed(3);

/** A generated row: its 33 fields in `FIELD_NAMES` order, and its sc-bytes for the expectation. */
export interface GeneratedRow {
  fields: string[];
  scBytes: number;
}

/**
 * One request at `timeMs`, with fields that agree with each other the way real ones do: a 304 has
 * no body, http has no TLS fields, a 206 has a range, an error has an error result type, time to
 * first byte never exceeds time taken.
 */
export function generateRow(
  world: World,
  distribution: Distribution,
  random: Random,
  timeMs: number,
): GeneratedRow {
  const [date, time] = dateAndTime(timeMs);
  const client = world.clients[world.clientChoice.sample(random)] ?? world.clients[0];
  const resource = world.resources[world.resourceChoice.sample(random)] ?? world.resources[0];
  if (client === undefined || resource === undefined) throw new RangeError('empty world');
  const host = distribution.hostHeaders.sample(random);

  const protocolRoll = random();
  const protocol = protocolRoll < 0.955 ? 'https' : protocolRoll < 0.995 ? 'http' : 'wss';
  let status = STATUSES.sample(random);
  // Viewer protocol policy "redirect-to-https": most plain-http requests get a 301.
  if (protocol === 'http' && chance(random, 0.6)) status = 301;
  if (resource.kind === 'video' && status === 200) status = 206;
  // Range requests come from players and PDF viewers, not for pages or scripts.
  if (status === 206 && resource.kind !== 'video' && resource.kind !== 'document') status = 200;

  const method = resource.kind === 'api' ? API_METHODS.sample(random) : chance(random, 0.04) ? 'HEAD' : 'GET';
  if (status === 304 && method !== 'GET') status = 200;

  let resultType: string;
  let detailed: string;
  if (status === 0) {
    resultType = 'Error';
    detailed = 'ClientHungUpRequest';
  } else if (status >= 500) {
    resultType = 'Error';
    detailed = pick(random, ORIGIN_ERRORS);
  } else if (status >= 400) {
    resultType = 'Error';
    detailed = status === 403 && chance(random, 0.1) ? 'ClientGeoBlocked' : 'Error';
  } else if (status === 301 && protocol === 'http') {
    resultType = 'Redirect';
    detailed = 'Redirect';
  } else {
    const cacheRoll = random();
    const cacheable = resource.kind !== 'api' && method !== 'POST';
    resultType = !cacheable ? 'Miss' : cacheRoll < 0.68 ? 'Hit' : cacheRoll < 0.95 ? 'Miss' : 'RefreshHit';
    detailed = resultType;
  }

  const headerBytes = round(min(2_000, max(200, logNormal(random, 420, 0.25))));
  const dynamicBody =
    resource.kind === 'api' || resource.kind === 'html'
      ? max(2, round(resource.bytes * (0.9 + 0.2 * random())))
      : resource.bytes;
  let contentLength = '-';
  let rangeStart = '-';
  let rangeEnd = '-';
  let body = 0;
  let contentType = CONTENT_TYPES[resource.kind];
  if (status === 200 && method !== 'HEAD' && method !== 'OPTIONS') {
    body = dynamicBody;
    // Chunked (compressed or streamed) responses carry no Content-Length.
    if (resource.kind === 'api' || chance(random, 0.2)) contentLength = '-';
    else contentLength = String(body);
  } else if (status === 206) {
    const start = integerBetween(random, 0, max(0, dynamicBody - 2));
    const end = min(dynamicBody - 1, start + integerBetween(random, 1, 1_048_576));
    body = end - start + 1;
    contentLength = String(body);
    rangeStart = String(start);
    rangeEnd = String(end);
  } else if (status >= 400) {
    body = integerBetween(random, 300, 1_000); // CloudFront's or the origin's error page
    contentLength = String(body);
    contentType = 'text/html';
  } else if (status === 301 || status === 302) {
    contentType = 'text/html';
  } else if (status === 304 || method === 'OPTIONS') {
    contentType = '-'; // no body; a HEAD keeps the type of the body it did not send
  }
  let scBytes = headerBytes + body;
  if (status === 0) {
    // The transfer was cut short: part of the response, or nothing at all.
    scBytes = chance(random, 0.5) ? 0 : floor(scBytes * random());
    contentType = '-';
    contentLength = '-';
  }

  const origin = resultType === 'Miss' || resultType === 'Error' || resultType === 'RefreshHit';
  const firstByte = origin ? logNormal(random, 0.09, 0.9) : logNormal(random, 0.003, 0.8);
  const transfer = scBytes / logNormal(random, 4_000_000, 0.8); // seconds at a few MB/s
  const timeTaken = seconds(firstByte + transfer);
  const timeToFirstByte = seconds(min(Number(timeTaken), firstByte));

  let userAgent = '-';
  const agentIndex = chance(random, 0.9) ? client.userAgent : floor(random() * USER_AGENTS.length);
  if (agentIndex !== NO_USER_AGENT) {
    userAgent = LOGGED_USER_AGENTS[agentIndex] ?? 'curl/8.5.0';
    // Some CloudFront log periods double-encode the agent (`%2520`): the parser must not over-decode.
    if (chance(random, 0.04)) userAgent = userAgent.replaceAll('%', '%25');
  }

  const refererRoll = random();
  const referer =
    refererRoll < 0.55
      ? '-'
      : refererRoll < 0.88
        ? `https://${host}${world.refererChoice.sample(random)}`
        : pick(random, EXTERNAL_REFERERS);

  const queryRoll = random();
  const query =
    queryRoll < 0.75
      ? '-'
      : queryRoll < 0.85
        ? `v=${randomText(random, HEX, 8)}`
        : queryRoll < 0.92
          ? `utm_source=${pick(random, ['newsletter', 'twitter', 'google'])}&utm_medium=${pick(random, ['email', 'social', 'cpc'])}`
          : queryRoll < 0.97
            ? `q=${pick(random, ['caf%C3%A9%20au%20lait', 'shoes%20size%2042', 'r%C3%A9sum%C3%A9', '100%25%20cotton'])}`
            : `page=${integerBetween(random, 2, 40)}&w=${pick(random, ['320', '640', '1280'])}`;

  const forwardedRoll = random();
  const forwardedFor =
    forwardedRoll < 0.93
      ? '-'
      : forwardedRoll < 0.98
        ? ipv4(random)
        : `${ipv4(random)},${chance(random, 0.2) ? ipv6(random) : ipv4(random)}`;

  let sslProtocol = '-';
  let sslCipher = '-';
  let version = chance(random, 0.95) ? 'HTTP/1.1' : 'HTTP/1.0';
  if (protocol !== 'http') {
    const versionRoll = random();
    version =
      protocol === 'wss'
        ? 'HTTP/1.1'
        : versionRoll < 0.62
          ? 'HTTP/2.0'
          : versionRoll < 0.9
            ? 'HTTP/1.1'
            : 'HTTP/3.0';
    // HTTP/3 runs over QUIC, which is TLS 1.3 only.
    const tls13 = version === 'HTTP/3.0' || chance(random, 0.75);
    sslProtocol = tls13 ? 'TLSv1.3' : 'TLSv1.2';
    sslCipher = (tls13 ? TLS13_CIPHERS : TLS12_CIPHERS).sample(random);
  }

  const requestBytes =
    round(max(60, logNormal(random, 380, 0.35))) +
    (method === 'POST' || method === 'PUT' ? round(logNormal(random, 1_500, 1)) : 0);
  // A viewer mostly reaches the edge nearest to it; mobile networks and anycast shifts move a few.
  const edge = chance(random, 0.05) ? EDGES.sample(random) : client.homeEdge;

  const fields = [
    date,
    time,
    edge,
    String(scBytes),
    client.ip,
    method,
    distribution.domain,
    resource.path,
    status === 0 ? '000' : String(status),
    referer,
    userAgent,
    query,
    chance(random, 0.02) ? `session-id=${randomText(random, HEX, 24)}` : '-',
    resultType,
    edgeRequestId(random),
    host,
    protocol,
    String(requestBytes),
    timeTaken,
    forwardedFor,
    sslProtocol,
    sslCipher,
    resultType,
    version,
    '-',
    '-',
    String(integerBetween(random, 1_024, 65_535)),
    timeToFirstByte,
    detailed,
    contentType,
    contentLength,
    rangeStart,
    rangeEnd,
  ];
  return { fields, scBytes };
}

let lastSecond = Number.NaN;
let lastDateAndTime: readonly [string, string] = ['', ''];

/** `date` and `time` fields for an instant; consecutive rows mostly share a second, so remember one. */
function dateAndTime(timeMs: number): readonly [string, string] {
  const second = floor(timeMs / 1_000);
  if (second !== lastSecond) {
    const iso = new Date(second * 1_000).toISOString();
    lastSecond = second;
    lastDateAndTime = [iso.slice(0, 10), iso.slice(11, 19)];
  }
  return lastDateAndTime;
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * 54 base64url characters and `==`, the shape of CloudFront's request ids (56 characters). Five
 * characters (30 bits) per 32-bit draw: it is the costliest field per row, and a `Buffer` per row
 * is ten times slower under Jest's VM context.
 */
function edgeRequestId(random: Random): string {
  let id = '';
  while (id.length < 54) {
    let bits = floor(random() * 1_073_741_824);
    for (let char = 0; char < 5; char++, bits >>>= 6) id += BASE64URL[bits & 63];
  }
  return `${id.slice(0, 54)}==`;
}

/** Milliseconds between requests of a steady stream at `rowsPerSecond`, drawn as independent arrivals. */
export function nextGapMs(random: Random, rowsPerSecond: number): number {
  return exponential(random, 1_000 / rowsPerSecond);
}
