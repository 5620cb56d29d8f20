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
import { canonicalTimeZone, isValidTimeZone } from '../engine/params.ts';
import { DEFAULT_DATA_DIR_WAIT_SECONDS } from '../lib/data-folder.ts';
import { describeIssue } from './issues.ts';
import { DEFAULT_PRIVACY_K } from '../reports/privacy.ts';
import type { SinkSetting } from '../sinks/publish.ts';

/** The folder of the package (where config/ lives), wherever the process was started. */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_CATALOG = join(PACKAGE_ROOT, 'config', 'event-catalog.json');
export const DEFAULT_TRACKING_PLAN = join(PACKAGE_ROOT, 'config', 'tracking-plan.json');

/**
 * Names of the cluster-side events and properties for Connect's share of cluster logins (docs/metrics.md).
 * The PostHog-side names are inferred from Teleport's public code (the service that writes them is
 * private), hence settings.
 */
export interface ClusterShareSettings {
  /** The cluster's login event (distinct_id tp.<account>). */
  clusterLoginEvent: string;
  /** The anonymized user name, the same HMAC in the cluster's and in Connect's events. */
  userProperty: string;
  /** The SSO connector of a cluster login; absent or empty for a local user. */
  connectorProperty: string;
  /** Connect's login events (the implemented name and any alias). */
  connectLoginEvents: string[];
}

export const DEFAULT_CLUSTER_SHARE: ClusterShareSettings = {
  clusterLoginEvent: 'tp.user.login',
  userProperty: 'tp.user_name',
  connectorProperty: 'tp.connector_type',
  connectLoginEvents: ['connect.cluster.login'],
};

/** PostHog look-backs: a year, so a weekly report reads about the same whatever the project's age (docs/metrics.md). */
export const DEFAULT_HORIZON_WEEKS = 52;

const SchedulerFileSchema = z
  .object({
    /** Runs missed while the service was down are caught up if no older than this. Default 336 (14 days). */
    catchUpWindowHours: z.number().positive().optional(),
    /** A failed run is tried this many times in all. Default 5. */
    maxAttempts: z.number().int().min(1).max(100).optional(),
    /** First retry delay; doubles each attempt, up to maxRetryDelaySeconds. Default 60. */
    retryDelaySeconds: z.number().positive().optional(),
    /** Default 3600. */
    maxRetryDelaySeconds: z.number().positive().optional(),
    /** On SIGTERM/SIGINT a running job may finish within this. Default 120. */
    shutdownGraceSeconds: z.number().positive().optional(),
  })
  .strict();

const JobsFileSchema = z
  .object({
    weeklyDigest: z
      .object({
        /** Cron (5 fields) in the configured timezone. Default "0 9 * * MON". */
        schedule: z.string().optional(),
        enabled: z.boolean().optional(),
      })
      .strict()
      .optional(),
    dailyCheck: z
      .object({
        /** Cron (5 fields) in the configured timezone. Default "0 8 * * *". */
        schedule: z.string().optional(),
        enabled: z.boolean().optional(),
        /** Alert when yesterday's DAU differs from the median of the same weekday by more than this fraction. Default 0.3. */
        threshold: z.number().positive().optional(),
        /** Weeks of the same weekday the median is taken over. Default 4. */
        weeks: z.number().int().min(1).max(26).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const FileSchema = z
  .object({
    $comment: z.string().optional(),
    /** IANA timezone of the report's days and weeks. Default UTC. */
    timezone: z.string().refine(isValidTimeZone, 'expected an IANA timezone such as UTC or Europe/Berlin').optional(),
    /** Events whose name starts with this make an installation active. Default "connect.". */
    eventPrefix: z.string().min(1).optional(),
    /** Event catalog file, relative to the config file. Default: config/event-catalog.json. */
    catalog: z.string().min(1).optional(),
    /** Tracking plan file, relative to the config file. Default: config/tracking-plan.json. */
    trackingPlan: z.string().min(1).optional(),
    /** Event and property names of Connect's share of cluster logins; defaults in DEFAULT_CLUSTER_SHARE. */
    clusterShare: z
      .object({
        clusterLoginEvent: z.string().min(1).optional(),
        userProperty: z.string().min(1).optional(),
        connectorProperty: z.string().min(1).optional(),
        connectLoginEvents: z.array(z.string().min(1)).min(1).optional(),
      })
      .strict()
      .optional(),
    /** Local store folder, relative to the config file. */
    dataDir: z.string().min(1).optional(),
    /** How long a process waits for another one using the same data folder, in seconds. Default 600. */
    dataDirWaitSeconds: z.number().int().min(0).max(86_400).optional(),
    /** Slack delivery: the channel id (C...) and, for a stand-in or a proxy, the Web API base URL. The token is SLACK_BOT_TOKEN. */
    slack: z.object({ channel: z.string().min(1).optional(), apiUrl: z.string().url().optional() }).strict().optional(),
    /** How far back PostHog queries look for first weeks, latest OS and version (docs/metrics.md). Default 52 weeks. */
    history: z.object({ horizonWeeks: z.number().int().min(13).max(520).optional() }).strict().optional(),
    /** Small-cell suppression: breakdown cells with fewer than k installations are hidden (docs/metrics.md). Default 5; 1 turns it off. */
    privacy: z.object({ k: z.number().int().min(1).max(1000).optional() }).strict().optional(),
    /** Where reports go: "csv" (the output folder), "html" (report.html + index.html), "slack"; or objects with their own settings: {"type":"csv","charts":false}, {"type":"html","index":false}, {"type":"slack","channel":"C0123"} (one per channel). Default: csv and html, plus slack when SLACK_BOT_TOKEN is set. */
    sinks: z
      .array(
        z.union([
          z.string(),
          z.object({ type: z.literal('csv'), charts: z.boolean().optional() }).strict(),
          z.object({ type: z.literal('html'), index: z.boolean().optional() }).strict(),
          z.object({ type: z.literal('slack'), channel: z.string().min(1).optional() }).strict(),
        ]),
      )
      .min(1)
      .optional(),
    /** Counting rules for installer downloads in CloudFront logs (docs/downloads.md). */
    downloads: z
      .object({
        /** x-host-header values that count; empty or absent: any host. */
        hosts: z.array(z.string().min(1)).optional(),
        /** User-Agent prefixes of in-app updaters. Default ["electron-builder"]. */
        updateUserAgents: z.array(z.string().min(1)).optional(),
        /** Field order of v2 `plain` files, which carry no header. Default: the legacy standard order. */
        plainFields: z.array(z.string().min(1)).min(1).optional(),
        /** Field delimiter of v2 `w3c` and `plain` output (the delivery's fieldDelimiter, up to 5 characters). Default tab. */
        fieldDelimiter: z.string().min(1).max(5).optional(),
        /** S3 client settings beyond the AWS standard chain (endpoint and path style for S3-compatible stores). */
        s3: z
          .object({
            region: z.string().optional(),
            endpoint: z.string().url().optional(),
            forcePathStyle: z.boolean().optional(),
            concurrency: z.number().int().min(1).max(64).optional(),
          })
          .strict()
          .optional(),
        /** Counting on a ClickHouse server (--engine clickhouse://...), which reads the bucket with s3(). */
        clickhouse: z
          .object({
            /** How the server reaches the bucket; default https://BUCKET.s3.REGION.amazonaws.com, or ENDPOINT/BUCKET. */
            s3BaseUrl: z.string().url().optional(),
            /** Hand this process's AWS credentials to the server's s3() calls (else: the server's own). */
            passCredentials: z.boolean().optional(),
            /** Database the server stages into (dropped and created each run). Default connect_metrics_cdn. */
            database: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    /** Running unattended (`serve`, `backfill`, `status`): docs/operations.md. */
    scheduler: SchedulerFileSchema.optional(),
    jobs: JobsFileSchema.optional(),
    /** The HTTP endpoint of `serve` (/healthz, /metrics), on loopback. */
    http: z.object({ port: z.number().int().min(0).max(65535).optional() }).strict().optional(),
    /** Log lines: json (one object a line, for collectors) or pretty (for people). Default: pretty on a terminal, else json. */
    log: z.object({ format: z.enum(['json', 'pretty']).optional() }).strict().optional(),
    /** PostHog project to query; the personal API key may also be here, but the environment is safer. */
    posthog: z
      .object({
        host: z.string().optional(),
        projectId: z.union([z.string(), z.number()]).optional(),
        apiKey: z.string().optional(),
        /** Query requests per hour that backfill stays under. Default 120 (the legacy query endpoints' limit). */
        requestsPerHour: z.number().positive().optional(),
        /** A throttle PostHog says lasts longer than this stops the run instead of waiting. Default 10 (backfill always waits). */
        maxThrottleWaitMinutes: z.number().nonnegative().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/**
 * PostHog settings as given (unvalidated until used: a setting that is present but wrong is named
 * in a one-line error before any request is made; see `posthogSettings`).
 */
export interface RawPostHogSettings {
  host: { value: string | undefined; from: string };
  projectId: { value: string | undefined; from: string };
  apiKey: { value: string | undefined; from: string };
}

export interface AppConfig {
  timezone: string;
  eventPrefix: string;
  catalogPath: string;
  trackingPlanPath: string;
  clusterShare: ClusterShareSettings;
  dataDir: string;
  /** How long to wait for another process using the data folder (CONNECT_METRICS_DATA_DIR_WAIT_SECONDS, dataDirWaitSeconds). */
  dataDirWaitSeconds: number;
  /** Where each value came from, for `--verbose` and error messages. */
  configPath: string | undefined;
  slack: { token: string | undefined; channel: string | undefined; apiUrl: string | undefined };
  posthog: RawPostHogSettings;
  downloads: DownloadRules;
  sinks: SinkSetting[] | undefined;
  /** Breakdown cells under this many installations are suppressed (src/reports/privacy.ts). */
  privacyK: number;
  /** Weeks PostHog queries look back for first weeks, latest OS and version (`history.horizonWeeks`). */
  horizonWeeks: number;
  scheduler: SchedulerSettings;
  jobs: JobSettings;
  http: { port: number };
  log: { format: 'json' | 'pretty' | undefined };
  /** Requests per hour backfill stays under (posthog.requestsPerHour). */
  posthogRequestsPerHour: number;
  /** Longest throttle wait a report sits out (posthog.maxThrottleWaitMinutes), ms. */
  posthogMaxThrottleWaitMs: number;
}

export interface SchedulerSettings {
  catchUpWindowHours: number;
  maxAttempts: number;
  retryDelaySeconds: number;
  maxRetryDelaySeconds: number;
  shutdownGraceSeconds: number;
}

export interface JobSettings {
  weeklyDigest: { schedule: string; enabled: boolean };
  dailyCheck: { schedule: string; enabled: boolean; threshold: number; weeks: number };
}

/** Monday 09:00 local, as the issue asks: see docs/operations.md for the 48-hour late-data margin. */
export const DEFAULT_WEEKLY_DIGEST_SCHEDULE = '0 9 * * MON';
export const DEFAULT_DAILY_CHECK_SCHEDULE = '0 8 * * *';
/** The default loopback port of `serve` (/healthz, /metrics). */
export const DEFAULT_HTTP_PORT = 9464;

export interface DownloadRules {
  hosts: string[];
  updateUserAgents: string[];
  plainFields: string[] | undefined;
  fieldDelimiter: string | undefined;
  s3: { region?: string; endpoint?: string; forcePathStyle?: boolean; concurrency?: number };
  clickhouse: { s3BaseUrl?: string; passCredentials?: boolean; database: string };
}

export interface ConfigInput {
  /** --config FILE */
  configPath?: string | undefined;
  /** --timezone ZONE */
  timezone?: string | undefined;
  /** --data-dir DIR */
  dataDir?: string | undefined;
  /** --privacy-k N */
  privacyK?: string | undefined;
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
  const given = input.timezone ?? file.timezone ?? 'UTC';
  // `utc` or `europe/berlin` mean UTC and Europe/Berlin: taken by their canonical names, which the engines know.
  const timezone = canonicalTimeZone(given);
  if (timezone === undefined) {
    throw new ConfigError(`${input.timezone !== undefined ? '--timezone' : 'timezone'} ${given}: not an IANA timezone`, { hint: 'use a name such as UTC, Europe/Berlin or America/Los_Angeles' });
  }
  const expand = (p: string) => (p.startsWith('~/') ? join(homedir(), p.slice(2)) : resolve(base, p));
  return {
    timezone,
    eventPrefix: file.eventPrefix ?? 'connect.',
    catalogPath: file.catalog ? expand(file.catalog) : DEFAULT_CATALOG,
    trackingPlanPath: file.trackingPlan ? expand(file.trackingPlan) : DEFAULT_TRACKING_PLAN,
    clusterShare: { ...DEFAULT_CLUSTER_SHARE, ...file.clusterShare } as ClusterShareSettings,
    dataDir: input.dataDir
      ? resolve(input.dataDir)
      : env.CONNECT_METRICS_DATA_DIR
        ? resolve(env.CONNECT_METRICS_DATA_DIR)
        : file.dataDir
          ? expand(file.dataDir)
          : defaultDataDir(env),
    dataDirWaitSeconds: envNumber(env, 'CONNECT_METRICS_DATA_DIR_WAIT_SECONDS') ?? file.dataDirWaitSeconds ?? DEFAULT_DATA_DIR_WAIT_SECONDS,
    configPath: configPath ? resolve(configPath) : undefined,
    slack: {
      token: env.SLACK_BOT_TOKEN || undefined,
      channel: env.SLACK_CHANNEL_ID || file.slack?.channel || undefined,
      apiUrl: env.SLACK_API_URL || file.slack?.apiUrl || undefined,
    },
    sinks: file.sinks,
    privacyK: privacyK(input.privacyK, env.CONNECT_METRICS_PRIVACY_K, file.privacy?.k),
    horizonWeeks: file.history?.horizonWeeks ?? DEFAULT_HORIZON_WEEKS,
    scheduler: {
      catchUpWindowHours: envNumber(env, 'CONNECT_METRICS_CATCH_UP_WINDOW_HOURS') ?? file.scheduler?.catchUpWindowHours ?? 336,
      maxAttempts: file.scheduler?.maxAttempts ?? 5,
      retryDelaySeconds: file.scheduler?.retryDelaySeconds ?? 60,
      maxRetryDelaySeconds: file.scheduler?.maxRetryDelaySeconds ?? 3600,
      shutdownGraceSeconds: file.scheduler?.shutdownGraceSeconds ?? 120,
    },
    jobs: {
      weeklyDigest: {
        schedule: env.CONNECT_METRICS_WEEKLY_DIGEST_SCHEDULE || file.jobs?.weeklyDigest?.schedule || DEFAULT_WEEKLY_DIGEST_SCHEDULE,
        enabled: file.jobs?.weeklyDigest?.enabled ?? true,
      },
      dailyCheck: {
        schedule: env.CONNECT_METRICS_DAILY_CHECK_SCHEDULE || file.jobs?.dailyCheck?.schedule || DEFAULT_DAILY_CHECK_SCHEDULE,
        enabled: file.jobs?.dailyCheck?.enabled ?? true,
        threshold: file.jobs?.dailyCheck?.threshold ?? 0.3,
        weeks: file.jobs?.dailyCheck?.weeks ?? 4,
      },
    },
    http: { port: envNumber(env, 'CONNECT_METRICS_HTTP_PORT', { integer: true, max: 65535 }) ?? file.http?.port ?? DEFAULT_HTTP_PORT },
    log: { format: envChoice(env, 'CONNECT_METRICS_LOG_FORMAT', ['json', 'pretty'] as const) ?? file.log?.format },
    posthogRequestsPerHour: envNumber(env, 'POSTHOG_REQUESTS_PER_HOUR') ?? file.posthog?.requestsPerHour ?? 120,
    posthogMaxThrottleWaitMs: (envNumber(env, 'POSTHOG_MAX_THROTTLE_WAIT_MINUTES') ?? file.posthog?.maxThrottleWaitMinutes ?? 10) * 60_000,
    downloads: {
      hosts: file.downloads?.hosts ?? [],
      updateUserAgents: file.downloads?.updateUserAgents ?? ['electron-builder'],
      plainFields: file.downloads?.plainFields,
      fieldDelimiter: file.downloads?.fieldDelimiter,
      s3: { ...(file.downloads?.s3 ?? {}) },
      clickhouse: { ...(file.downloads?.clickhouse ?? {}), database: file.downloads?.clickhouse?.database ?? 'connect_metrics_cdn' },
    },
    posthog: {
      host: pick(env.POSTHOG_HOST, 'POSTHOG_HOST', file.posthog?.host, 'posthog.host in the config file'),
      projectId: pick(
        env.POSTHOG_PROJECT_ID,
        'POSTHOG_PROJECT_ID',
        file.posthog?.projectId === undefined ? undefined : String(file.posthog.projectId),
        'posthog.projectId in the config file',
      ),
      apiKey: pick(env.POSTHOG_API_KEY, 'POSTHOG_API_KEY', file.posthog?.apiKey, 'posthog.apiKey in the config file'),
    },
  };
}

function privacyK(flag: string | undefined, envValue: string | undefined, fileValue: number | undefined): number {
  const parse = (text: string, where: string) => {
    if (!/^\d+$/.test(text.trim()) || Number(text) < 1) {
      throw new ConfigError(`${where} ${text}: expected a whole number of installations, at least 1 (1 turns suppression off)`);
    }
    return Number(text);
  };
  if (flag !== undefined) return parse(flag, '--privacy-k');
  if (envValue) return parse(envValue, 'CONNECT_METRICS_PRIVACY_K');
  return fileValue ?? DEFAULT_PRIVACY_K;
}

function envNumber(env: Record<string, string | undefined>, name: string, rules: { integer?: boolean; max?: number } = {}): number | undefined {
  const text = env[name];
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0 || (rules.integer && !Number.isInteger(n)) || (rules.max !== undefined && n > rules.max)) {
    throw new ConfigError(`${name}=${text}: expected ${rules.integer ? 'a whole number' : 'a number'} from 0${rules.max !== undefined ? ` to ${rules.max}` : ''}`);
  }
  return n;
}

function envChoice<T extends string>(env: Record<string, string | undefined>, name: string, choices: readonly T[]): T | undefined {
  const text = env[name];
  if (text === undefined || text === '') return undefined;
  if (!(choices as readonly string[]).includes(text)) throw new ConfigError(`${name}=${text}: expected one of ${choices.join(', ')}`);
  return text as T;
}

function pick(envValue: string | undefined, envName: string, fileValue: string | undefined, fileName: string) {
  if (envValue !== undefined && envValue !== '') return { value: envValue, from: envName };
  if (fileValue !== undefined && fileValue !== '') return { value: fileValue, from: fileName };
  return { value: undefined, from: envName };
}

export interface PostHogSettings {
  /** e.g. https://us.posthog.com, without a trailing slash */
  host: string;
  projectId: string;
  apiKey: string;
}

export function hasAnyPostHogSetting(config: AppConfig): boolean {
  const p = config.posthog;
  return p.host.value !== undefined || p.projectId.value !== undefined || p.apiKey.value !== undefined;
}

/**
 * The PostHog settings, validated. Each problem names the setting (the variable or config key it came
 * from) and what a right value looks like. The key itself never appears in a message.
 */
export function posthogSettings(config: AppConfig): PostHogSettings {
  const { host, projectId, apiKey } = config.posthog;
  const missing = [host, projectId, apiKey].filter((s) => s.value === undefined).map((s) => s.from);
  if (missing.length) {
    throw new ConfigError(`PostHog source: ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set`, {
      hint: 'set POSTHOG_HOST (e.g. https://us.posthog.com), POSTHOG_PROJECT_ID and POSTHOG_API_KEY (a personal API key with query:read), or use --source files',
    });
  }
  let url: URL;
  try {
    url = new URL(host.value!);
  } catch {
    throw new ConfigError(`${host.from}: not a URL`, { hint: 'e.g. https://us.posthog.com or https://eu.posthog.com' });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(`${host.from}: expected an http(s) URL`, { hint: 'e.g. https://us.posthog.com' });
  }
  if (/\.i\.posthog\.com$/.test(url.hostname)) {
    throw new ConfigError(`${host.from}: ${url.hostname} only ingests events; queries go to the app host`, {
      hint: `use https://${url.hostname.replace('.i.posthog.com', '.posthog.com')}`,
    });
  }
  if (!/^\d+$/.test(projectId.value!)) {
    throw new ConfigError(`${projectId.from}: expected the numeric project id`, {
      hint: 'it is in the project URL: https://us.posthog.com/project/<id>',
    });
  }
  const key = apiKey.value!;
  if (key.startsWith('phc_')) {
    throw new ConfigError(`${apiKey.from}: that is a project API key (phc_...), which can only send events`, {
      hint: 'create a personal API key (phx_...) with the query:read scope in PostHog: Settings > Personal API keys',
    });
  }
  if (!/^phx_[A-Za-z0-9_-]{6,}$/.test(key)) {
    throw new ConfigError(`${apiKey.from}: does not look like a personal API key (phx_ followed by letters and digits)`, {
      hint: 'create a personal API key with the query:read scope in PostHog: Settings > Personal API keys',
    });
  }
  return { host: url.origin + url.pathname.replace(/\/+$/, ''), projectId: projectId.value!, apiKey: key };
}

/** The process environment: read here and nowhere else, then passed down. */
export function processEnvironment(): Record<string, string | undefined> {
  return process.env;
}
