import { describe, expect, it } from 'vitest';
import { maintenanceBody, parseDuration } from '../../../src/cli/maintenance-command.ts';

describe('nodepulse instances maintenance', () => {
  it('reads --for as seconds, minutes, hours and days, alone or combined', () => {
    expect(parseDuration('45s')).toBe(45_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('1d')).toBe(86_400_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    for (const bad of ['', '2', 'h', '2x', '2h junk', '-1h', '0m']) expect(parseDuration(bad), bad).toBeUndefined();
  });

  it('sends the window from now, or its end with --off, and refuses a missing or bad duration', () => {
    const now = Date.UTC(2026, 11, 2, 12, 0, 0);
    expect(maintenanceBody({ for: '2h', reason: 'kernel upgrade' }, now)).toEqual({ maintenance_until: '2026-12-02T14:00:00.000Z', maintenance_reason: 'kernel upgrade' });
    expect(maintenanceBody({ off: true }, now)).toEqual({ maintenance_until: null, maintenance_reason: '' });
    expect(() => maintenanceBody({}, now)).toThrow(/--for/);
    expect(() => maintenanceBody({ for: 'soon' }, now)).toThrow(/--for soon/);
    expect(() => maintenanceBody({ off: true, for: '1h' }, now)).toThrow(/--off/);
  });
});
