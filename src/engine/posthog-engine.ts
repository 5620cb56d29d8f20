/**
 * PostHog as an Engine: the query files' SQL, unchanged, over PostHog's Query API.
 *
 * Timestamps: HogQL converts `timestamp` to the project's timezone by default. The queries name
 * their timezone explicitly (`toTimeZone(timestamp, {timezone})`) and compare against UTC instants
 * (`toDateTime64({from}, 6, 'UTC')`), and the engine turns the conversion off
 * (`convertToProjectTimezone: false`), so the report's timezone governs, whatever the project's is.
 *
 * Person properties: what `person.properties` means depends on the team's persons-on-events mode
 * (the properties stored on each event at ingestion, or the person's current ones joined in). The
 * engine pins PERSONS_ON_EVENTS_MODE, the mode whose person_id and person.properties are the event's
 * own columns: exactly what a batch export writes (`person_id`, `person_properties`), so PostHog and
 * the export files give the same numbers whatever the team's setting.
 */
import type { Engine, EngineResult, ExecuteRequest } from './engine.ts';
import type { SplitSpec } from './query.ts';
import { PostHogQueryClient, type PostHogClientOptions } from './posthog-client.ts';
import { PostHogTooHeavyError } from './posthog-errors.ts';
import { combineParts, halveUsers, timeParts } from './split.ts';
import type { Logger } from '../lib/logger.ts';
import { allOrAbort } from '../lib/abort.ts';

export const PERSONS_ON_EVENTS_MODE = 'person_id_no_override_properties_on_events';

/** The modifiers every query is sent with. */
export const QUERY_MODIFIERS = { convertToProjectTimezone: false, personsOnEventsMode: PERSONS_ON_EVENTS_MODE } as const;

export class PostHogEngine implements Engine {
  readonly name = 'posthog';
  readonly client: PostHogQueryClient;
  /** Identifies the data behind the answers (for cache keys): host and project, never the key. */
  readonly sourceId: string;
  private readonly logger: Logger;

  constructor(options: PostHogClientOptions) {
    this.client = new PostHogQueryClient({ ...options, modifiers: { ...QUERY_MODIFIERS, ...options.modifiers } });
    this.sourceId = `posthog:${options.host.replace(/\/+$/, '')}/project/${options.projectId}`;
    this.logger = options.logger;
  }

  async execute(request: ExecuteRequest): Promise<EngineResult> {
    return this.run(request.queryId, request.sql, request.values, request.split, request.signal);
  }

  private async run(
    name: string,
    sql: string,
    values: Record<string, unknown>,
    split: SplitSpec | undefined,
    signal: AbortSignal | undefined,
  ): Promise<EngineResult> {
    try {
      const r = await this.client.query({ name, sql, values, signal });
      return { columns: r.columns, rows: r.results };
    } catch (error) {
      if (!(error instanceof PostHogTooHeavyError) || !split) throw error;
      // Out of memory: fewer groups per part help, so installation buckets are worth trying. Too slow
      // or too many bytes (504, 512, too_many_bytes): a part reads as much as the whole unless its
      // time range is shorter (the bucket filter is applied to rows already read), so only time helps.
      const memory = error.status === 513;
      const byTime = timeParts(values, split);
      const parts = byTime.length > 1 ? byTime : memory ? halveUsers(values) : undefined;
      if (!parts) {
        const history = split.grain === 'installation';
        const what = memory
          ? `still too heavy after splitting into ${String(values.user_buckets)} parts${history ? ' by installation' : ` of one ${split.grain}`}`
          : history
            ? `${error.status === 400 ? 'reads more than PostHog allows' : "does not finish within PostHog's time limit (10 s for a query made with a personal API key)"}: it reads every installation's whole history, which no split can shorten`
            : `${error.status === 400 ? 'reads more than PostHog allows' : "does not finish within PostHog's time limit (10 s for a query made with a personal API key)"} even for one ${split.grain}`;
        // PostHog's generic APIException code is `error`: only a specific one is worth showing.
        const code = error.code && error.code !== 'error' ? ` ${error.code}` : '';
        throw new PostHogTooHeavyError(name, `${what} (${error.status}${code})`, {
          ...(error.status !== undefined ? { status: error.status } : {}),
          ...(error.code !== undefined ? { code: error.code } : {}),
          hint: history
            ? 'make this report from a PostHog batch export instead (--source files --events DIR), or try again when PostHog is less busy'
            : 'try again when PostHog is less busy, or use --source files with a batch export',
          cause: error,
        });
      }
      this.logger.warn(
        `PostHog query ${name} was too heavy (${error.status}${error.code && error.code !== 'error' ? ` ${error.code}` : ''}); running it in ${parts.length} parts by ${byTime.length > 1 ? split.grain : 'installation'}`,
      );
      const results = await allOrAbort(
        parts.map((p) => (partSignal: AbortSignal) => this.run(name, sql, p, split, partSignal)),
        signal,
      );
      return combineParts(results, split);
    }
  }
}
