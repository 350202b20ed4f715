import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type Component, ComponentRunner } from '../../../src/coordinator/component-runner.ts';
import { createLogger } from '../../../src/shared/logger.ts';

function recordingLogger() {
  const sink = new PassThrough();
  let logged = '';
  sink.on('data', (chunk: Buffer) => (logged += chunk.toString()));
  return { logger: createLogger({ level: 'debug', component: 'test', pretty: false, stream: sink }), logs: () => logged };
}

/** Components that write what happens to them into `events`; `fail` names the calls that throw. */
function parts(names: string[], events: string[], fail: string[] = []): Component[] {
  const act = (call: string) => {
    events.push(call);
    if (fail.includes(call)) throw new Error(`${call} broke`);
  };
  return names.map((name) => ({ name, start: () => act(`start ${name}`), stop: async () => act(`stop ${name}`) }));
}

describe('the component runner', () => {
  it('starts the components in order and stops them in reverse', async () => {
    const events: string[] = [];
    const runner = new ComponentRunner(parts(['store', 'heartbeats', 'sweeper'], events), recordingLogger().logger);
    await runner.start();
    await runner.stop();
    expect(events).toEqual(['start store', 'start heartbeats', 'start sweeper', 'stop sweeper', 'stop heartbeats', 'stop store']);
  });

  it('runs synchronous starts before start() returns, so a caller may rely on them without awaiting', () => {
    const events: string[] = [];
    void new ComponentRunner(parts(['a', 'b'], events), recordingLogger().logger).start();
    expect(events).toEqual(['start a', 'start b']);
  });

  it('keeps stopping past a component whose stop fails, logs it, and then rejects naming it', async () => {
    const events: string[] = [];
    const { logger, logs } = recordingLogger();
    const runner = new ComponentRunner(parts(['store', 'leader election', 'sweeper'], events, ['stop leader election']), logger);
    await runner.start();
    await expect(runner.stop()).rejects.toThrow('stopping failed: leader election');
    expect(events.slice(3)).toEqual(['stop sweeper', 'stop leader election', 'stop store']);
    expect(logs()).toContain('stopping leader election failed');
  });

  it('stops everything in reverse when a start fails, and rethrows that failure', async () => {
    const events: string[] = [];
    const runner = new ComponentRunner(parts(['store', 'HTTP server', 'sweeper'], events, ['start HTTP server']), recordingLogger().logger);
    await expect(runner.start()).rejects.toThrow('start HTTP server broke');
    expect(events).toEqual(['start store', 'start HTTP server', 'stop sweeper', 'stop HTTP server', 'stop store']);
  });
});
