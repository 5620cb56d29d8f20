import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ConfigError } from '../lib/errors.ts';
import { describeIssue } from './issues.ts';

/** Feature ids the weekly report lists first, in this order (features.csv contract). */
export const PROTOCOL_FEATURE = 'protocol_use';

const FeatureSchema = z.object({
  id: z.string().regex(/^[a-z][a-z0-9_]*$/, 'feature ids are lower_snake_case'),
  description: z.string().default(''),
  events: z.array(z.string().min(1)).min(1, 'a feature needs at least one event name'),
});

const CatalogSchema = z
  .object({
    $comment: z.string().optional(),
    features: z.array(FeatureSchema).min(1),
  })
  .superRefine((catalog, ctx) => {
    const ids = new Map<string, number>();
    const events = new Map<string, string>();
    catalog.features.forEach((f, i) => {
      if (ids.has(f.id)) ctx.addIssue({ code: 'custom', path: ['features', i, 'id'], message: `duplicate feature id ${f.id}` });
      ids.set(f.id, i);
      f.events.forEach((e, j) => {
        const other = events.get(e);
        if (other !== undefined) {
          ctx.addIssue({ code: 'custom', path: ['features', i, 'events', j], message: `${e} already belongs to feature ${other}` });
        }
        events.set(e, f.id);
      });
    });
    if (!ids.has(PROTOCOL_FEATURE)) {
      ctx.addIssue({ code: 'custom', path: ['features'], message: `the catalog needs a ${PROTOCOL_FEATURE} feature (protocols are counted from its events)` });
    }
  });

export type Catalog = z.infer<typeof CatalogSchema>;
export type Feature = Catalog['features'][number];

/** Reads and validates an event catalog; a bad entry is reported with its path in the file. */
export async function loadCatalog(path: string): Promise<Catalog> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`event catalog ${path}: ${(error as Error).message}`, { hint: 'set "catalog" in the config file to an existing file' });
  }
  return parseCatalog(text, path);
}

export function parseCatalog(text: string, path: string): Catalog {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`event catalog ${path}: not valid JSON: ${(error as Error).message}`);
  }
  const parsed = CatalogSchema.safeParse(json);
  if (!parsed.success) {
    throw new ConfigError(`event catalog ${path}: ${describeIssue(parsed.error.issues[0]!)}`);
  }
  return parsed.data;
}

/** The catalog as the two parallel arrays the feature query takes. */
export function catalogArrays(catalog: Catalog): { catalog_events: string[]; catalog_features: string[] } {
  const catalog_events: string[] = [];
  const catalog_features: string[] = [];
  for (const f of catalog.features) {
    for (const e of f.events) {
      catalog_events.push(e);
      catalog_features.push(f.id);
    }
  }
  return { catalog_events, catalog_features };
}

export function protocolEvents(catalog: Catalog): string[] {
  return catalog.features.find((f) => f.id === PROTOCOL_FEATURE)?.events ?? [];
}
