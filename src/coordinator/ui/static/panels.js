import { count, el, time } from './format.js';
import { summary } from './host-page.js';

/** The safety holds in force (/readyz), each with a Lift hold button. */
export function renderHolds(list, readiness, onLift) {
  const holds = readiness?.holds;
  const items = [];
  if (holds?.graceUntil) {
    items.push(
      el(
        'li',
        { class: 'hold grace', 'data-hold': 'grace' },
        el('strong', { text: 'Timeout grace' }),
        ` (${holds.graceReason ?? 'start'}): nobody is timed out before ${time(holds.graceUntil)} `,
        liftButton(onLift),
      ),
    );
  }
  for (const hold of holds?.massSilence ?? []) {
    items.push(
      el(
        'li',
        { class: 'hold mass-silence', 'data-hold': hold.cluster },
        el('strong', { text: `Mass silence in ${hold.cluster}` }),
        `: ${hold.silent} silent of ${hold.active} Active (${hold.timedOut} timed out), terminations held since ${time(hold.since)}, until ${time(hold.until)} at the latest `,
        liftButton(onLift),
      ),
    );
  }
  if (items.length === 0) items.push(el('li', { class: 'muted', text: readiness ? 'None: silent nodes are timed out as they expire.' : 'Unknown (readiness probe unreachable).' }));
  list.replaceChildren(...items);
}

function liftButton(onLift) {
  const button = el('button', { type: 'button', class: 'change', text: 'Lift hold' });
  button.addEventListener('click', () => onLift(button));
  return button;
}

/** One entry per cluster with its counts; the selected one is pressed. */
export function renderClusters(list, counts, info, selected, onSelect) {
  list.replaceChildren(
    ...[...counts].map(([name, tally]) => {
      const regions = info.get(name)?.regions ?? [];
      const button = el(
        'button',
        { type: 'button', 'aria-pressed': String(name === selected), 'data-cluster': name },
        el('strong', { text: name }),
        el('span', { class: 'counts', text: `${count(tally.hosts)} hosts · ${count(tally.active)} Active · ${count(tally.terminated)} Terminated` }),
        el('span', { class: 'counts muted', text: `${count(tally.maintenance)} in maintenance · ${count(tally.disabled)} disabled · ${count(tally.failing)} failing checks` }),
        regions.length > 0 ? el('span', { class: 'counts muted', text: `regions: ${regions.join(', ')}` }) : undefined,
      );
      button.addEventListener('click', () => onSelect(name));
      return el('li', {}, button);
    }),
  );
}

const STATUS_CLASS = { Healthy: 'ok', Unhealthy: 'bad', InitialUnhealthy: 'muted' };

/** The cluster monitor's events (seed 004), newest first. */
export function renderMonitorEvents(list, events) {
  if (events.length === 0) return void list.replaceChildren(el('li', { class: 'muted', text: 'No event recorded yet.' }));
  list.replaceChildren(
    ...events.slice(0, 50).map((event) =>
      el(
        'li',
        { class: event.all_healthy ? 'ok' : 'bad' },
        el('time', { text: time(event.recorded_at) }),
        el('strong', { text: event.all_healthy ? ' all healthy ' : ' not healthy ' }),
        ...['api', 'compiler', 'runner'].map((part) => el('span', { class: `part ${STATUS_CLASS[event[`${part}_status`]] ?? ''}`, text: `${part} ${event[`${part}_status`]} ` })),
      ),
    ),
  );
}

const MAX_TRANSITIONS = 30;

/** Prepends a transition of the watch stream to the live list, keeping the newest. */
export function prependTransition(list, entry, name) {
  let where;
  if (entry.instance_id !== null) where = el('a', { href: `#host/${entry.instance_id}`, text: name ?? `host ${entry.instance_id}` });
  else where = el('span', { text: name ? `cluster ${name}` : entry.cluster_id === 0 ? 'coordinator' : `cluster ${entry.cluster_id}` });
  const said = summary(entry);
  const evidence = el('span', { class: 'muted evidence', text: ` ${said.length > 240 ? `${said.slice(0, 240)}…` : said}`, title: said });
  const item = el('li', { 'data-kind': entry.kind }, el('time', { text: time(entry.recorded_at) }), ` ${entry.kind} `, where, entry.reason ? ` ${entry.reason}` : '', evidence);
  list.prepend(item);
  while (list.children.length > MAX_TRANSITIONS) list.lastElementChild.remove();
}
