import { join } from 'node:path';
import type { DownloadRules } from '../../config/config.ts';
import type { Logger } from '../../lib/logger.ts';
import type { DiscoveredFile } from '../discover.ts';
import { discoverLogFiles } from './logs.ts';
import type { LogFileStats } from './logs.ts';
import { fetchS3Logs, isS3Url } from './s3.ts';

/**
 * The log files named by --downloads: local files and folders (searched recursively), and
 * `s3://bucket/prefix` locations, whose objects for the period are fetched into `workDir` first.
 * Objects that could not be fetched are returned as `failed`, for the report's data-quality list.
 */
export async function openLogFiles(
  specs: string[],
  period: { from: Date; to: Date },
  options: { rules: DownloadRules; logger: Logger; workDir: string },
): Promise<{ files: DiscoveredFile[]; failed: LogFileStats[]; origin: string }> {
  const local = specs.filter((s) => !isS3Url(s));
  const remote = specs.filter(isS3Url);
  const files: DiscoveredFile[] = [];
  const failed: LogFileStats[] = [];
  if (local.length) files.push(...(await discoverLogFiles(local)).files);
  for (const [i, url] of remote.entries()) {
    const fetched = await fetchS3Logs(url, period, join(options.workDir, 's3', String(i)), { ...options.rules.s3, logger: options.logger });
    files.push(...fetched.files);
    const bucket = url.replace(/^s3:\/\//i, '').split('/')[0];
    for (const f of fetched.failed) failed.push({ path: `s3://${bucket}/${f.key}`, format: 'unknown', lines: 0, unparsable: 0, error: f.error });
  }
  const origin = remote.length ? `CloudFront logs in ${remote.join(', ')}${local.length ? ' and local files' : ''}` : 'CloudFront log files';
  return { files, failed, origin };
}
