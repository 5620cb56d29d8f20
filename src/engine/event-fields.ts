/**
 * SQL expressions for the values an event carries, by the rules of docs/metrics.md, shared by the
 * query files that read them and by the embedded store's derived per-installation state
 * (src/sources/installation-state.ts), so both apply the same rule. HogQL that is also ClickHouse SQL.
 */

/** The OS an event carries: event property connect.os, else os, else the same two person properties on the event; '' when none. */
export const EVENT_OS = `multiIf(JSONExtractString(properties, 'connect.os') != '', JSONExtractString(properties, 'connect.os'),
        JSONExtractString(properties, 'os') != '', JSONExtractString(properties, 'os'),
        JSONExtractString(person.properties, 'connect.os') != '', JSONExtractString(person.properties, 'connect.os'),
        JSONExtractString(person.properties, 'os'))`;

/** The Connect version an event carries: connect.app_version, else connect_version (draft name), else the same two person properties; '' when none. */
export const EVENT_VERSION = `multiIf(JSONExtractString(properties, 'connect.app_version') != '', JSONExtractString(properties, 'connect.app_version'),
        JSONExtractString(properties, 'connect_version') != '', JSONExtractString(properties, 'connect_version'),
        JSONExtractString(person.properties, 'connect.app_version') != '', JSONExtractString(person.properties, 'connect.app_version'),
        JSONExtractString(person.properties, 'connect_version'))`;

/** The OS classes of platforms.csv from the value as sent (Connect sends Node's process.platform). */
export const osClass = (raw: string) => `multiIf(${raw} IN ('darwin', 'macos'), 'macos',
            ${raw} IN ('win32', 'windows'), 'windows',
            ${raw} = 'linux', 'linux',
            ${raw} = '', 'unknown',
            'other')`;
