/**
 * CloudFront logs read by a ClickHouse server straight from S3 (scale-out): this process lists the
 * period's keys (never the whole bucket) and reads each object's first bytes for its format and
 * fields; the server reads the objects with `s3()`, so the data never passes through here.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DiscoveredFile } from '../discover.ts';
import type { LogLocation } from './logs.ts';
import { inspectLogHead } from './formats.ts';
import { sqlString } from '../posthog-export.ts';

const GLOB_CHARS = /[*?{}[\],]/;

export interface S3LocationOptions {
  bucket: string;
  client: S3Client;
  /** How the server reaches the bucket: e.g. `https://my-bucket.s3.eu-west-1.amazonaws.com` or `http://minio:9000/my-bucket`. */
  baseUrl: string;
  /** Keys for the server's s3() calls; absent: the server's own credentials (its IAM role, its config). */
  credentials?: { accessKeyId: string; secretAccessKey: string } | undefined;
  /** The database staged into on the server. */
  db: string;
}

/** `s3://bucket/key` names, as the report lists the files. */
export function s3Files(bucket: string, keys: string[]): DiscoveredFile[] {
  return keys.map((k) => ({ path: `s3://${bucket}/${k}`, size: 0, mtimeMs: 0 }));
}

export function s3Location(o: S3LocationOptions): LogLocation {
  const keyOf = (path: string) => path.slice(`s3://${o.bucket}/`.length);
  const auth = o.credentials ? `${sqlString(o.credentials.accessKeyId)}, ${sqlString(o.credentials.secretAccessKey)}, ` : '';
  return {
    db: o.db,
    reader: {
      table: (source, format) => `s3(${sqlString(source)}, ${auth}'${format}')`,
      // The server's _path is `bucket/key`.
      file: `concat('s3://', _path)`,
    },
    async inspect(file, options) {
      const res = await o.client.send(new GetObjectCommand({ Bucket: o.bucket, Key: keyOf(file.path), Range: 'bytes=0-16383' }));
      const head = Buffer.from(await res.Body!.transformToByteArray());
      return inspectLogHead(file.path, head, options);
    },
    sourceOf(paths) {
      const keys = paths.map(keyOf);
      if (keys.length === 1) return `${o.baseUrl}/${keys[0]}`;
      let dir = keys[0]!.includes('/') ? keys[0]!.slice(0, keys[0]!.lastIndexOf('/')) : '';
      while (dir && !keys.every((k) => k.startsWith(dir + '/'))) dir = dir.includes('/') ? dir.slice(0, dir.lastIndexOf('/')) : '';
      const rel = keys.map((k) => (dir ? k.slice(dir.length + 1) : k));
      return `${o.baseUrl}/${dir ? `${dir}/` : ''}{${rel.join(',')}}`;
    },
    batchable: (path) => !GLOB_CHARS.test(keyOf(path)),
  };
}
