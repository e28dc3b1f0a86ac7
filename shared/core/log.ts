/**
 * The logging port the steps write to, and the masking every logger applies. The functions log
 * through Powertools Logger (`shared/observability/logger.ts`); `createLogger` here writes plain
 * JSON lines for tests and tools. Never log rows or credentials: values under keys that look
 * secret are masked as a last line of defence.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_KEY = /pass(word)?|secret|token|credential|authorization/i;

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** A logger that adds these keys to every line. */
  child(keys: Record<string, unknown>): Logger;
}

export function createLogger(
  options: { level?: LogLevel; keys?: Record<string, unknown>; write?: (line: string) => void } = {},
): Logger {
  const level = options.level ?? 'info';
  const keys = options.keys ?? {};
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const emit = (at: LogLevel, message: string, fields: Record<string, unknown> = {}) => {
    if (ORDER[at] < ORDER[level]) return;
    write(
      JSON.stringify(
        { level: at, time: new Date().toISOString(), message, ...keys, ...fields },
        (key, value) => describeError(maskSecrets(key, value)),
      ),
    );
  };
  return {
    debug: (message, fields) => emit('debug', message, fields),
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
    child: (more) => createLogger({ level, keys: { ...keys, ...more }, write }),
  };
}

/** A JSON replacer: `***` for a string or number under a key that looks secret (password, token…). */
export function maskSecrets(key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  return SECRET_KEY.test(key) && (typeof value === 'string' || typeof value === 'number') ? '***' : value;
}

function describeError(value: unknown): unknown {
  if (value instanceof Error) {
    return {
      name: value.name,
      message: value.message,
      ...(value.cause !== undefined && { cause: String(value.cause) }),
    };
  }
  return value;
}
