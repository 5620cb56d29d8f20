import type { LoadedFile } from '../sources/event-store.ts';
import { REJECT_REASONS, type RejectReason } from '../sources/posthog-export.ts';

/** What the report says about its own inputs: nothing unusable is dropped without being counted here. */
export interface DataQuality {
  /** Where the events came from, in words: "export files" or "PostHog project 123 at us.posthog.com". */
  origin: string;
  files: Array<{
    path: string;
    format: string;
    records: number;
    accepted: number;
    rejected: Record<RejectReason, number>;
    /**
     * Where the first rejected records are: file, line, reason. Never the line itself: a rejected
     * record still carries a distinct_id and the anonymized tp.* hashes, which no output may hold.
     */
    examples: Array<{ file: string; line: number; reason: RejectReason }>;
  }>;
  /** Files in the named folders that are not event files (skipped, listed so nothing vanishes unseen). */
  ignoredFiles: string[];
  records: number;
  rejected: Record<RejectReason, number>;
  /** Usable records dropped because an earlier record had the same uuid. */
  duplicates: number;
  /** Events the report's queries ran over (after deduplication). */
  events: number;
}

export function dataQualityFromFiles(files: LoadedFile[], ignoredFiles: string[], selection: { events: number; duplicates: number }): DataQuality {
  const rejected = Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>;
  let records = 0;
  for (const f of files) {
    records += f.records;
    for (const r of REJECT_REASONS) rejected[r] += f.rejected[r];
  }
  return {
    origin: 'export files',
    files: files.map((f) => ({
      path: f.path,
      format: f.format,
      records: f.records,
      accepted: f.accepted,
      rejected: f.rejected,
      examples: f.examples.map((e) => ({ file: f.path, line: e.line, reason: e.reason })),
    })),
    ignoredFiles,
    records,
    rejected,
    duplicates: selection.duplicates,
    events: selection.events,
  };
}

export function totalRejected(dq: DataQuality): number {
  return REJECT_REASONS.reduce((s, r) => s + dq.rejected[r], 0);
}

/** For a source that does its own loading and deduplication (PostHog): nothing to count here. */
export function emptyDataQuality(origin: string): DataQuality {
  return {
    origin,
    files: [],
    ignoredFiles: [],
    records: 0,
    rejected: Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>,
    duplicates: 0,
    events: 0,
  };
}
