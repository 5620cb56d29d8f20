import { describe, expect, it } from 'vitest';
import { loadConfig, posthogSettings } from '../src/config/config.ts';
import { chooseSource } from '../src/sources/open-source.ts';
import { ConfigError } from '../src/lib/errors.ts';

const KEY = 'phx_abcdefghijklmnop1234';
const env = (extra: Record<string, string> = {}) => ({ HOME: '/home/x', ...extra });

describe('PostHog settings', () => {
  it('come from the environment and validate', async () => {
    const config = await loadConfig({ env: env({ POSTHOG_HOST: 'https://eu.posthog.com/', POSTHOG_PROJECT_ID: '123', POSTHOG_API_KEY: KEY }) });
    expect(posthogSettings(config)).toEqual({ host: 'https://eu.posthog.com', projectId: '123', apiKey: KEY });
    expect(chooseSource(config, undefined, undefined)).toBe('posthog');
    expect(chooseSource(config, 'files', undefined)).toBe('files');
  });

  it('default to the files source when none is set', async () => {
    const config = await loadConfig({ env: env() });
    expect(chooseSource(config, undefined, undefined)).toBe('files');
  });

  it.each([
    [{ POSTHOG_HOST: 'https://us.posthog.com', POSTHOG_API_KEY: KEY }, /POSTHOG_PROJECT_ID is not set/],
    [{ POSTHOG_HOST: 'us.posthog.com', POSTHOG_PROJECT_ID: '1', POSTHOG_API_KEY: KEY }, /POSTHOG_HOST: not a URL/],
    [{ POSTHOG_HOST: 'https://us.i.posthog.com', POSTHOG_PROJECT_ID: '1', POSTHOG_API_KEY: KEY }, /only ingests events/],
    [{ POSTHOG_HOST: 'https://us.posthog.com', POSTHOG_PROJECT_ID: 'my-project', POSTHOG_API_KEY: KEY }, /POSTHOG_PROJECT_ID: expected the numeric project id/],
    [{ POSTHOG_HOST: 'https://us.posthog.com', POSTHOG_PROJECT_ID: '1', POSTHOG_API_KEY: 'phc_projectkey123456' }, /POSTHOG_API_KEY: that is a project API key/],
    [{ POSTHOG_HOST: 'https://us.posthog.com', POSTHOG_PROJECT_ID: '1', POSTHOG_API_KEY: 'secret-value-xyz' }, /POSTHOG_API_KEY: does not look like a personal API key/],
  ])('names the setting that is wrong: %j', async (vars, message) => {
    const config = await loadConfig({ env: env(vars as Record<string, string>) });
    let error: unknown;
    try {
      posthogSettings(config);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message.split('\n')).toHaveLength(1);
    // the key's value never appears in a message
    for (const secret of [KEY, 'phc_projectkey123456', 'secret-value-xyz']) {
      expect((error as Error).message).not.toContain(secret);
      expect(String((error as ConfigError).hint)).not.toContain(secret);
    }
  });
});

describe('the data folder', () => {
  it('is --data-dir, else CONNECT_METRICS_DATA_DIR, else ~/.cache/connect-metrics', async () => {
    expect((await loadConfig({ dataDir: '/tmp/a', env: env({ CONNECT_METRICS_DATA_DIR: '/tmp/b' }) })).dataDir).toBe('/tmp/a');
    expect((await loadConfig({ env: env({ CONNECT_METRICS_DATA_DIR: '/tmp/b' }) })).dataDir).toBe('/tmp/b');
    expect((await loadConfig({ env: env({ XDG_CACHE_HOME: '/var/cache' }) })).dataDir).toBe('/var/cache/connect-metrics');
    expect((await loadConfig({ env: env() })).dataDir).toMatch(/\.cache\/connect-metrics$/);
  });
});
