import type { z } from 'zod';

/** `features.2.events: expected array` — a zod issue with its full path, the way a person reads a key. */
export function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String).join('.');
  return path ? `${path}: ${issue.message}` : issue.message;
}
