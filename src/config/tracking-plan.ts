/**
 * The tracking plan (config/tracking-plan.json): every Connect event with its aliases and properties
 * (type, required, allowed values, must be anonymized), validated here like the event catalog, and
 * flattened into the parallel arrays the tracking_plan query takes (src/queries/tracking_plan.ts).
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ConfigError } from '../lib/errors.ts';
import { describeIssue } from './issues.ts';

/** Allowed values travel to the query joined by this character, so no value may contain it. */
export const VALUE_SEPARATOR = '|';

const PROPERTY_TYPES = ['string', 'boolean', 'number'] as const;
export type PropertyType = (typeof PROPERTY_TYPES)[number];

/** ClickHouse's JSONType names of each plan type (the query compares JSONType with these). */
const JSON_TYPES: Record<PropertyType, string> = { string: 'String', boolean: 'Bool', number: 'Int64|UInt64|Double' };

const Values = z
  .array(z.string().min(1).refine((v) => !v.includes(VALUE_SEPARATOR), `an allowed value cannot contain "${VALUE_SEPARATOR}"`))
  .min(1, 'list at least one allowed value, or leave "values" out');

const Regex = z.string().min(1).refine(
  (p) => {
    try {
      new RegExp(p);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'not a valid regular expression' },
);

/**
 * An event or property name. The tracking_plan query keys each plan position by event TAB name, so
 * a name may not hold a control character (no real event or property name does).
 */
const Name = z.string().min(1).refine((n) => !/[\u0000-\u001f\u007f]/.test(n), 'a name cannot contain a control character (tab, newline, ...)');

const DraftSchema = z
  .object({
    name: Name,
    type: z.enum(PROPERTY_TYPES).optional(),
    values: Values.optional(),
  })
  .strict();

const PropertySchema = z
  .object({
    name: Name,
    type: z.enum(PROPERTY_TYPES),
    required: z.boolean().default(false),
    values: Values.optional(),
    anonymized: z.boolean().default(false),
    /** The draft-RFD name old builds send instead (its type and values default to this property's). */
    draft: DraftSchema.optional(),
  })
  .strict()
  .refine((p) => !(p.values && p.type !== 'string'), { message: 'allowed values are for string properties', path: ['values'] })
  .refine((p) => !(p.anonymized && p.type !== 'string'), { message: 'an anonymized property is a string (a base64 HMAC)', path: ['anonymized'] });

const EventSchema = z
  .object({
    event: Name,
    description: z.string().optional(),
    aliases: z.array(Name).default([]),
    properties: z.array(PropertySchema).default([]),
  })
  .strict();

const PlanSchema = z
  .object({
    $comment: z.string().optional(),
    distinctIdPattern: Regex,
    hashPattern: Regex,
    anonymized: z.array(Name).default([]),
    events: z.array(EventSchema).min(1),
  })
  .strict()
  .superRefine((plan, ctx) => {
    const names = new Map<string, string>();
    plan.events.forEach((e, i) => {
      [e.event, ...e.aliases].forEach((name, j) => {
        const other = names.get(name);
        if (other !== undefined) {
          ctx.addIssue({ code: 'custom', path: ['events', i, j === 0 ? 'event' : 'aliases'], message: `${name} already belongs to ${other}` });
        }
        names.set(name, e.event);
      });
      const props = new Set<string>();
      e.properties.forEach((p, j) => {
        for (const name of [p.name, ...(p.draft ? [p.draft.name] : [])]) {
          if (props.has(name)) ctx.addIssue({ code: 'custom', path: ['events', i, 'properties', j, 'name'], message: `property ${name} is listed twice for ${e.event}` });
          props.add(name);
        }
      });
    });
  });

export type TrackingPlan = z.infer<typeof PlanSchema>;

export async function loadTrackingPlan(path: string): Promise<TrackingPlan> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`tracking plan ${path}: ${(error as Error).message}`, { hint: 'set "trackingPlan" in the config file to an existing file' });
  }
  return parseTrackingPlan(text, path);
}

export function parseTrackingPlan(text: string, path: string): TrackingPlan {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`tracking plan ${path}: not valid JSON: ${(error as Error).message}`);
  }
  const parsed = PlanSchema.safeParse(json);
  if (!parsed.success) throw new ConfigError(`tracking plan ${path}: ${describeIssue(parsed.error.issues[0]!)}`);
  return parsed.data;
}

/** The key the query uses for connect.* events the plan does not know (the global rules apply to them). */
export const UNKNOWN_EVENT_KEY = '*';

/**
 * The plan as the tracking_plan query's parameters. One position per property name to check (a
 * draft name is its own position, with its own type and values); `prop_required` marks the names
 * whose absence, with their draft name's (`prop_alternates`), is a missing required property. The
 * top-level `anonymized` names are added to every event that does not list them, and to unknown events.
 */
export function trackingPlanParams(plan: TrackingPlan) {
  const plan_events: string[] = [];
  const plan_names: string[] = [];
  for (const e of plan.events) {
    for (const name of [e.event, ...e.aliases]) {
      plan_events.push(name);
      plan_names.push(e.event);
    }
  }
  const prop_events: string[] = [];
  const prop_names: string[] = [];
  const prop_types: string[] = [];
  const prop_values: string[] = [];
  const prop_anonymized: string[] = [];
  const prop_required: string[] = [];
  const prop_alternates: string[] = [];
  const add = (event: string, name: string, type: PropertyType, values: string[] | undefined, anonymized: boolean, required: boolean, alternate: string) => {
    prop_events.push(event);
    prop_names.push(name);
    prop_types.push(JSON_TYPES[type]);
    prop_values.push((values ?? []).join(VALUE_SEPARATOR));
    prop_anonymized.push(anonymized ? '1' : '');
    prop_required.push(required ? '1' : '');
    prop_alternates.push(alternate);
  };
  const globals = (event: string, listed: Set<string>) => {
    for (const name of plan.anonymized) if (!listed.has(name)) add(event, name, 'string', undefined, true, false, '');
  };
  for (const e of plan.events) {
    const listed = new Set<string>();
    for (const p of e.properties) {
      add(e.event, p.name, p.type, p.values, p.anonymized, p.required, p.draft?.name ?? '');
      listed.add(p.name);
      if (p.draft) {
        add(e.event, p.draft.name, p.draft.type ?? p.type, p.draft.values ?? p.values, p.anonymized || plan.anonymized.includes(p.draft.name), false, '');
        listed.add(p.draft.name);
      }
    }
    globals(e.event, listed);
  }
  globals(UNKNOWN_EVENT_KEY, new Set());
  return {
    plan_events,
    plan_names,
    prop_events,
    prop_names,
    prop_types,
    prop_values,
    prop_anonymized,
    prop_required,
    prop_alternates,
    distinct_id_pattern: plan.distinctIdPattern,
    hash_pattern: plan.hashPattern,
  };
}
