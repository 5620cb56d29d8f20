/**
 * Configuration: the one module that reads the environment. Precedence, highest first:
 * command-line flag, environment variable, config file (--config), built-in default.
 * Secrets (tokens) are read from the environment only and never written anywhere.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ConfigError } from '../lib/errors.ts';
import { isValidTimeZone } from '../engine/params.ts';
import { describeIssue } from './issues.ts';

/** The folder of the package (where config/ lives), wherever the process was started. */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_CATALOG = join(PACKAGE_ROOT, 'config', 'event-catalog.json');

const FileSchema = z
  .object({
    $comment: z.string().optional(),
    /** IANA timezone of the report's days and weeks. Default UTC. */
    timezone: z.string().refine(isValidTimeZone, 'expected an IANA timezone such as UTC or Europe/Berlin').optional(),
    /** Events whose name starts with this make an installation active. Default "connect.". */
    eventPrefix: z.string().min(1).optional(),
    /** Event catalog file, relative to the config file. Default: config/event-catalog.json. */
    catalog: z.string().min(1).optional(),
    /** Local store folder, relative to the config file. */
    dataDir: z.string().min(1).optional(),
    slack: z.object({ channel: z.string().min(1).optional() }).strict().optional(),
  })
  .strict();

export interface AppConfig {
  timezone: string;
  eventPrefix: string;
  catalogPath: string;
  dataDir: string;
  /** Where each value came from, for `--verbose` and error messages. */
  configPath: string | undefined;
  slack: { token: string | undefined; channel: string | undefined };
}

export interface ConfigInput {
  /** --config FILE */
  configPath?: string | undefined;
  /** --timezone ZONE */
  timezone?: string | undefined;
  /** --data-dir DIR */
  dataDir?: string | undefined;
  env?: Record<string, string | undefined>;
}

/** The default store folder, named in the README: $XDG_CACHE_HOME/connect-metrics or ~/.cache/connect-metrics. */
export function defaultDataDir(env: Record<string, string | undefined>): string {
  const base = env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'connect-metrics');
}

export async function loadConfig(input: ConfigInput = {}): Promise<AppConfig> {
  const env = input.env ?? process.env;
  const configPath = input.configPath ?? env.CONNECT_METRICS_CONFIG;
  let file: z.infer<typeof FileSchema> = {};
  let base = process.cwd();
  if (configPath) {
    const path = resolve(configPath);
    base = dirname(path);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      throw new ConfigError(`config file ${configPath}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`, {
        hint: 'pass --config with an existing JSON file (see config/connect-metrics.example.json)',
      });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new ConfigError(`config file ${configPath}: not valid JSON: ${(error as Error).message}`);
    }
    const parsed = FileSchema.safeParse(json);
    if (!parsed.success) throw new ConfigError(`config file ${configPath}: ${describeIssue(parsed.error.issues[0]!)}`);
    file = parsed.data;
  }
  const timezone = input.timezone ?? file.timezone ?? 'UTC';
  if (!isValidTimeZone(timezone)) {
    throw new ConfigError(`--timezone ${timezone}: not an IANA timezone`, { hint: 'use a name such as UTC, Europe/Berlin or America/Los_Angeles' });
  }
  const expand = (p: string) => (p.startsWith('~/') ? join(homedir(), p.slice(2)) : resolve(base, p));
  return {
    timezone,
    eventPrefix: file.eventPrefix ?? 'connect.',
    catalogPath: file.catalog ? expand(file.catalog) : DEFAULT_CATALOG,
    dataDir: input.dataDir
      ? resolve(input.dataDir)
      : env.CONNECT_METRICS_DATA_DIR
        ? resolve(env.CONNECT_METRICS_DATA_DIR)
        : file.dataDir
          ? expand(file.dataDir)
          : defaultDataDir(env),
    configPath: configPath ? resolve(configPath) : undefined,
    slack: { token: env.SLACK_BOT_TOKEN || undefined, channel: file.slack?.channel ?? env.SLACK_CHANNEL_ID ?? undefined },
  };
}

/** The process environment: read here and nowhere else, then passed down. */
export function processEnvironment(): Record<string, string | undefined> {
  return process.env;
}
