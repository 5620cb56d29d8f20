import { z } from 'zod';
import { count, defineQuery } from '../engine/query.ts';
import { param } from '../engine/params.ts';

// `<v>` in the installer names: a semantic version, with an optional pre-release part.
const V = '([0-9]+\\\\.[0-9]+\\\\.[0-9]+(?:-[0-9A-Za-z][0-9A-Za-z.-]*)?)';
// Architectures that may follow the version in .dmg and .tar.gz names (a pre-release is not one).
const ARCH = '(x64|arm64|universal|amd64|aarch64|x86_64|arm|armv7l|ia32|i386)';

export default defineQuery({
  id: 'downloads_daily',
  description:
    'Teleport Connect installer downloads and in-app updates per day (report timezone), platform and version, from CloudFront access logs (docs/downloads.md)',
  reads: 'cdn_requests',
  params: {
    from: param.instant('start of the period (inclusive), UTC'),
    to: param.instant('end of the period (exclusive), UTC'),
    timezone: param.timezone('timezone whose calendar days are counted'),
    hosts: param.stringArray('x-host-header values that count; empty: any host'),
    update_user_agents: param.stringArray('User-Agent prefixes of in-app updaters, e.g. electron-builder'),
  },
  row: z.object({ day: z.string(), platform: z.string(), version: z.string(), downloads: count(), updates: count() }),
  // Per request (x-edge-request-id, once whichever file it is in), then one download per client IP,
  // User-Agent, path and day. The name patterns are checked most specific first, so that an
  // architecture is never read as a pre-release.
  sql: `
SELECT day, dl_platform AS platform, dl_version AS version, countIf(NOT dl_update) AS downloads, countIf(dl_update) AS updates
FROM (
    SELECT ip, user_agent, path, day, any(platform) AS dl_platform, any(version) AS dl_version, any(is_update) AS dl_update
    FROM (
        SELECT
            req_ip AS ip, req_user_agent AS user_agent, req_path AS path,
            toDate(toTimeZone(req_ts, {timezone})) AS day,
            extract(path, '[^/]*$') AS name,
            multiIf(
                match(name, '^Teleport Connect-${V}-mac\\\\.zip$'), ['macos', extractGroups(name, '^Teleport Connect-${V}-mac\\\\.zip$')[1], 'zip'],
                match(name, '^Teleport Connect-${V}-${ARCH}\\\\.dmg$'), ['macos', extractGroups(name, '^Teleport Connect-${V}-${ARCH}\\\\.dmg$')[1], 'dmg'],
                match(name, '^Teleport Connect-${V}\\\\.dmg$'), ['macos', extractGroups(name, '^Teleport Connect-${V}\\\\.dmg$')[1], 'dmg'],
                match(name, '^Teleport Connect Setup-${V}\\\\.exe$'), ['windows', extractGroups(name, '^Teleport Connect Setup-${V}\\\\.exe$')[1], 'exe'],
                match(name, '^teleport-connect_${V}_[A-Za-z0-9_]+\\\\.deb$'), ['linux', extractGroups(name, '^teleport-connect_${V}_[A-Za-z0-9_]+\\\\.deb$')[1], 'deb'],
                match(name, '^teleport-connect-${V}\\\\.[A-Za-z0-9_]+\\\\.rpm$'), ['linux', extractGroups(name, '^teleport-connect-${V}\\\\.[A-Za-z0-9_]+\\\\.rpm$')[1], 'rpm'],
                match(name, '^teleport-connect-${V}-linux-${ARCH}\\\\.tar\\\\.gz$'), ['linux', extractGroups(name, '^teleport-connect-${V}-linux-${ARCH}\\\\.tar\\\\.gz$')[1], 'tar.gz'],
                match(name, '^teleport-connect-${V}-${ARCH}\\\\.tar\\\\.gz$'), ['linux', extractGroups(name, '^teleport-connect-${V}-${ARCH}\\\\.tar\\\\.gz$')[1], 'tar.gz'],
                ['', '', '']) AS installer,
            installer[1] AS platform,
            installer[2] AS version,
            installer[3] = 'zip' OR arrayExists(p -> startsWith(user_agent, p), {update_user_agents}) AS is_update
        FROM (
            SELECT request_id, any(ip) AS req_ip, any(user_agent) AS req_user_agent, any(path) AS req_path, any(ts) AS req_ts
            FROM cdn_requests
            WHERE method = 'GET'
                AND (status = '200' OR (status = '206' AND range_start = '0'))
                AND (empty({hosts}) OR has({hosts}, host))
                AND ts >= toDateTime64({from}, 3, 'UTC')
                AND ts < toDateTime64({to}, 3, 'UTC')
            GROUP BY request_id
        )
    )
    WHERE platform != ''
    GROUP BY ip, user_agent, path, day
)
GROUP BY day, dl_platform, dl_version
ORDER BY day, platform, version`,
});
