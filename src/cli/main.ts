// Commands are imported when they run, so `--help` and `queries` do not load the engine.
/**
 * The `connect-metrics` command line. Parsing and printing only: each command calls the same
 * functions a job or a test would. Exit codes: 0 done, 1 failed (bad data, engine error),
 * 2 wrong usage or configuration (the message says what to type instead).
 */
import { Command, CommanderError, Option } from 'commander';
import { ConnectMetricsError, exitCodeFor } from '../lib/errors.ts';
import { pinoLogger, streamLogger, type Logger } from '../lib/logger.ts';
import { systemClock, type Clock } from '../lib/clock.ts';
import { processEnvironment } from '../config/config.ts';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  clock: Clock;
  env: Record<string, string | undefined>;
  /** HTTP for remote sources; default global fetch. */
  fetch?: typeof fetch;
  /** Whether stderr is a terminal (readable logs, a redrawn progress bar). */
  stderrIsTTY?: boolean;
  /** Waits (backfill's budget); default a timer. Tests record the waits instead. */
  sleep?: (ms: number) => Promise<void>;
  /** True when stdout/stderr are the process's own: `serve` then logs through pino on fd 2. */
  processStreams?: boolean;
}

export interface GlobalOptions {
  config?: string;
  dataDir?: string;
  timezone?: string;
  privacyK?: string;
  verbose?: boolean;
}

export function buildProgram(io: CliIo, run: (action: (logger: Logger) => Promise<void>, verbose?: boolean) => Promise<void>): Command {
  const program = new Command('connect-metrics')
    .description('Teleport Connect usage metrics: active installations, features, protocols and platforms, from PostHog exports')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  // --privacy-k only where it applies: commands that make reports. `query` prints a query's raw rows
  // (no suppression), so it does not offer the flag rather than accept it and ignore it.
  const common = (cmd: Command, options: { privacy?: boolean } = {}) => {
    cmd
      .option('--config <file>', 'JSON config file (see config/connect-metrics.example.json)')
      .option('--data-dir <dir>', 'local store folder (default: $CONNECT_METRICS_DATA_DIR, else ~/.cache/connect-metrics)')
      .option('--timezone <zone>', 'IANA timezone of days and weeks (default: config, else UTC)');
    if (options.privacy !== false) cmd.option('--privacy-k <n>', 'breakdown cells with fewer than n installations are suppressed (default: config, else 5; 1 = off)');
    return cmd
      .option('-v, --verbose', 'log more detail on stderr')
      .exitOverride()
      .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  };

  common(
    program
      .command('report')
      .description('weekly report: CSV files, the Slack digest (slack.json without a token) and a text preview')
      .option('--week <week>', 'ISO week like 2026-W47, or last (the last complete week)', 'last')
      .option('--events <path...>', 'PostHog batch-export files or folders (.jsonl, .jsonl.gz/.br/.zst, .parquet, .parquet.zst)')
      .addOption(sourceOption())
      .option('--downloads <path...>', 'CloudFront access logs (files, folders or s3://bucket/prefix): adds installer downloads')
      .option('--engine <url>', 'count downloads on a ClickHouse server that reads the bucket itself: clickhouse://user:pass@host:8123/db')
      .option('--out <dir>', 'output folder (default: out/<week>)')
      .option('--force', 'post the Slack digest even if this week was posted already')
      .option('--allow-incomplete', 'report a week that has not ended (the current one) on purpose: its figures are marked partial')
      .option('--sinks <list>', 'where the report goes, comma-separated: csv, html, slack (default: csv,html, plus slack with SLACK_BOT_TOKEN)'),
  ).action((opts: GlobalOptions & { week: string; events?: string[]; out?: string; source?: string; downloads?: string[]; engine?: string; force?: boolean; sinks?: string; allowIncomplete?: boolean }) =>
    run(async (logger) => (await import('./report.ts')).reportCommand(opts, io, logger), opts.verbose),
  );

  common(
    program
      .command('serve')
      .description('run the scheduled jobs (weekly-digest, daily-check) until SIGTERM/SIGINT, with /healthz and /metrics on loopback')
      .option('--port <port>', 'HTTP port on 127.0.0.1 (0: any free port; default: http.port, else 9464)')
      .option('--events <path...>', 'PostHog batch-export files or folders (for --source files)')
      .addOption(sourceOption())
      .option('--sinks <list>', 'where the weekly digest goes, comma-separated (default: config sinks)')
      .option('--run-now <job...>', "also take up the job's most recent scheduled time at start, unless it already succeeded")
      .addOption(new Option('--log-format <format>', 'log lines (default: log.format, else pretty on a terminal and json otherwise)').choices(['json', 'pretty'])),
  ).action((opts: import('./serve.ts').ServeOptions & { logFormat?: 'json' | 'pretty' }) =>
    run(async (logger) => {
      const serve = await import('./serve.ts');
      await serve.serveCommand(opts, io, io.processStreams ? await serviceLogger(opts, io) : logger);
    }, opts.verbose),
  );

  common(
    program
      .command('backfill')
      .description("every week's report from --from to --to, oldest first; resumable (weeks done are skipped), within the PostHog request budget")
      .requiredOption('--from <week>', 'first ISO week, like 2026-W01')
      .requiredOption('--to <week>', 'last ISO week, like 2026-W47 (or last)')
      .option('--sinks <list>', 'where the reports go, comma-separated (default: config sinks)')
      .option('--events <path...>', 'PostHog batch-export files or folders (for --source files)')
      .addOption(sourceOption())
      .option('--out <dir>', 'output root; each week in <dir>/<week>', 'out')
      .option('--budget <n>', 'PostHog requests per hour (default: posthog.requestsPerHour, else 120)'),
  ).action((opts: import('./backfill.ts').BackfillOptions) => run(async (logger) => (await import('./backfill.ts')).backfillCommand(opts, io, logger), opts.verbose));

  common(
    program
      .command('status')
      .description('the run ledger: recent runs of each job, their outcome, the next scheduled time')
      .option('--json', 'as JSON')
      .option('--runs <n>', 'runs shown per job', '5'),
    { privacy: false },
  ).action((opts: import('./status.ts').StatusOptions) => run(async () => (await import('./status.ts')).statusCommand(opts, io), opts.verbose));

  program
    .command('queries')
    .description('list the queries with their descriptions and parameters')
    .exitOverride()
    .action(() => run(async () => (await import('./query.ts')).queriesCommand(io)));

  common(
    program
      .command('query')
      .description('run one query over local export files')
      .argument('<id>', 'query id (see: connect-metrics queries)')
      .requiredOption('--from <date>', 'first day, YYYY-MM-DD, in the timezone')
      .requiredOption('--to <date>', 'day after the last, YYYY-MM-DD, in the timezone')
      .option('--events <path...>', 'PostHog batch-export files or folders')
      .addOption(sourceOption())
      .option('--param <k=v>', 'set a query parameter (repeatable; lists are comma-separated)', collect, [])
      .addOption(new Option('--format <format>', 'output format').choices(['table', 'csv', 'json']).default('table')),
    { privacy: false },
  ).action((id: string, opts: GlobalOptions & { from: string; to: string; events?: string[]; source?: string; param: string[]; format: 'table' | 'csv' | 'json' }) =>
    run(async (logger) => (await import('./query.ts')).queryCommand(id, opts, io, logger), opts.verbose),
  );

  common(
    program
      .command('demo')
      .description('generate a realistic demo data set (deterministic) and report its last complete week')
      .option('--out <dir>', 'output folder', 'out/demo')
      .option('--installations <n>', 'size of the demo installed base', '4000')
      .option('--seed <n>', 'random seed', '42'),
  ).action((opts: GlobalOptions & { out: string; installations: string; seed: string }) => run(async (logger) => (await import('./demo.ts')).demoCommand(opts, io, logger), opts.verbose));

  const posthog = program.command('posthog').description('PostHog as the events source').exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  common(
    posthog
      .command('check')
      .description('check the PostHog settings for the weekly report: host, key and its query:read scope, project, timezone, persons-on-events mode, every query (nothing is run)'),
  ).action((opts: GlobalOptions) => run(async () => (await import('./posthog.ts')).posthogCheckCommand(opts, io), opts.verbose));

  common(
    program
      .command('seed')
      .description('send the synthetic Connect event stream to a PostHog project (staging) through posthog-node')
      .requiredOption('--host <url>', 'PostHog ingestion host, e.g. https://us.i.posthog.com')
      .requiredOption('--project-key <key>', 'the project API key (phc_...)')
      .option('--days <n>', 'days of history, ending now', '14')
      .option('--installations <n>', 'size of the synthetic installed base', '500')
      .option('--seed <n>', 'random seed', '42')
      .option('--yes-this-is-staging', 'confirm that a non-loopback host is a project for trying things'),
    { privacy: false },
  ).action((opts: import('./seed.ts').SeedOptions & { verbose?: boolean }) =>
      run(async (logger) => (await import('./seed.ts')).seedCommand(opts, io, logger), opts.verbose),
    );

  return program;
}

/** pino for the service: the format from --log-format, the config, else readable on a terminal and JSON otherwise. */
async function serviceLogger(opts: GlobalOptions & { logFormat?: 'json' | 'pretty' }, io: CliIo): Promise<Logger> {
  const { loadConfig } = await import('../config/config.ts');
  const config = await loadConfig({ configPath: opts.config, timezone: opts.timezone, dataDir: opts.dataDir, env: io.env });
  const format = opts.logFormat ?? config.log.format ?? (io.stderrIsTTY ? 'pretty' : 'json');
  return pinoLogger({ format, level: opts.verbose ? 'debug' : 'info' });
}

function sourceOption(): Option {
  // Not a fixed choice: a ClickHouse server is named by its URL (checked in chooseSource).
  return new Option(
    '--source <source>',
    'where events come from: posthog, files, or clickhouse://user:pass@host:8123/db (default: posthog when POSTHOG_* settings are present, else files)',
  );
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export async function main(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  let exitCode = 0;
  const run = async (action: (logger: Logger) => Promise<void>, verbose?: boolean) => {
    const logger = streamLogger(verbose ? 'debug' : 'info', io.stderr);
    try {
      await action(logger);
    } catch (error) {
      exitCode = reportError(error, io, verbose);
    }
  };
  const program = buildProgram(io, run);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed its one-line message (with a "Did you mean" when it has one).
      if (error.exitCode === 0 || error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
      if (error.code === 'commander.help') return 0;
      io.stderr(`(run connect-metrics ${argv[0] && !argv[0].startsWith('-') ? `${argv[0]} ` : ''}--help for the options)\n`);
      return 2;
    }
    return reportError(error, io, false);
  }
  return exitCode;
}

function reportError(error: unknown, io: CliIo, verbose?: boolean): number {
  if (error instanceof ConnectMetricsError) {
    io.stderr(`error: ${error.message}\n`);
    if (error.hint) io.stderr(`  ${error.hint}\n`);
    if (verbose && error.cause) io.stderr(`${String((error.cause as Error).stack ?? error.cause)}\n`);
  } else if (typeof (error as NodeJS.ErrnoException)?.code === 'string' && /^E[A-Z]+$/.test((error as NodeJS.ErrnoException).code!) && !verbose) {
    // A system error (no space, permission, address in use) is its message, not a stack trace.
    io.stderr(`error: ${(error as Error).message}\n  (--verbose shows where it happened)\n`);
  } else {
    io.stderr(`error: ${(error as Error)?.stack ?? String(error)}\n`);
  }
  return exitCodeFor(error);
}

function defaultIo(): CliIo {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    clock: systemClock,
    env: processEnvironment(),
    stderrIsTTY: process.stderr.isTTY === true,
    processStreams: true,
  };
}
