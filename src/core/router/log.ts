// Structured one-line logs on stderr. Level from env VAN_LOG: debug | info | warn | error | silent.
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
export type LogLevel = keyof typeof LEVELS;

function currentLevel(): number {
  const name = (process.env.VAN_LOG ?? 'info').toLowerCase();
  return (LEVELS as Record<string, number>)[name] ?? LEVELS.info;
}

let threshold = currentLevel();

/** Re-reads VAN_LOG (tests change it). */
export function refreshLogLevel(): void {
  threshold = currentLevel();
}

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
  enabled(level: LogLevel): boolean;
}

function write(level: LogLevel, base: LogFields, msg: string, fields?: LogFields): void {
  if (LEVELS[level] < threshold) return;
  const line: LogFields = { ts: new Date().toISOString(), level, msg, ...base, ...fields };
  let text: string;
  try {
    text = JSON.stringify(line, (_k, v) => (v instanceof Error ? v.message : typeof v === 'bigint' ? String(v) : v));
  } catch {
    text = JSON.stringify({ ts: line.ts, level, msg });
  }
  process.stderr.write(text + '\n');
}

export function createLogger(base: LogFields = {}): Logger {
  return {
    debug: (m, f) => write('debug', base, m, f),
    info: (m, f) => write('info', base, m, f),
    warn: (m, f) => write('warn', base, m, f),
    error: (m, f) => write('error', base, m, f),
    child: (f) => createLogger({ ...base, ...f }),
    enabled: (level) => LEVELS[level] >= threshold,
  };
}
