import type { DownloadRules } from '../../config/config.ts';
import type { Logger } from '../../lib/logger.ts';
import type { DiscoveredFile } from '../discover.ts';
import { discoverLogFiles } from './logs.ts';
import type { LogFileStats } from './logs.ts';

/**
 * The log files named by --downloads: local files and folders, or (issue 5, S3) objects fetched
 * from `s3://bucket/prefix` into `workDir`.
 */
export async function openLogFiles(
  specs: string[],
  _period: { from: Date; to: Date },
  options: { rules: DownloadRules; logger: Logger; workDir: string },
): Promise<{ files: DiscoveredFile[]; failed: LogFileStats[]; origin: string }> {
  void options;
  const found = await discoverLogFiles(specs);
  return { files: found.files, failed: [], origin: 'CloudFront logs' };
}
