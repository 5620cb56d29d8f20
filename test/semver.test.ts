import { describe, expect, it } from 'vitest';
import { compareSemver } from '../src/reports/semver.ts';

describe('semantic version order', () => {
  it('orders as semver.org section 11 says', () => {
    // The example chain from the specification, then numeric fields and non-versions.
    const sorted = ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0', '1.2.0', '1.10.0', '18.2.0', 'nightly'];
    const shuffled = [...sorted].reverse();
    shuffled.sort(compareSemver);
    expect(shuffled).toEqual(sorted);
  });
});
