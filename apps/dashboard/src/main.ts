import './dashboard.css';
import { loadSession, type SessionInfo } from './api';
import { AccountView } from './account-view';
import { el } from './dom';
import { followEvents } from './live';
import { OverviewView } from './overview-view';

/** Equity and heartbeat ages move without events: a quiet refresh this often. */
const QUIET_REFRESH_MS = 5000;

interface Page {
  root: HTMLElement;
  refresh(): Promise<void>;
  stop(): void;
}

function overviewPage(): Page {
  const view = new OverviewView();
  const stopEvents = followEvents('/dashboard/api/events/stream', () => void view.refresh());
  const ages = window.setInterval(() => view.tick(), 1000);
  return {
    root: view.root,
    refresh: () => view.refresh(),
    stop: () => {
      stopEvents();
      window.clearInterval(ages);
    },
  };
}

function accountPage(id: string, session: SessionInfo): Page {
  const view = new AccountView(id, session);
  const stopEvents = followEvents(
    `/dashboard/api/accounts/${encodeURIComponent(id)}/events/stream`,
    () => void view.refresh(),
  );
  return { root: view.root, refresh: () => view.refresh(), stop: stopEvents };
}

function header(session: SessionInfo): HTMLElement {
  const logout = el(
    'form',
    { method: 'post', action: '/dashboard/logout' },
    el('button', { type: 'submit' }, 'Sign out'),
  );
  return el(
    'header',
    {},
    el('h1', {}, el('a', { href: '#/' }, 'Trading dashboard')),
    el('span', { class: `role ${session.role}`, 'data-testid': 'role' }, session.role),
    el('span', { class: 'live-dot', title: 'live updates' }),
    logout,
  );
}

async function main(): Promise<void> {
  const app = document.getElementById('app');
  if (app === null) return;
  const session = await loadSession();
  const content = el('main', {});
  app.replaceChildren(header(session), content);
  let page: Page | undefined;
  let quiet: number | undefined;
  const show = () => {
    page?.stop();
    window.clearInterval(quiet);
    const match = /^#\/accounts\/(.+)$/.exec(window.location.hash);
    page = match === null ? overviewPage() : accountPage(decodeURIComponent(match[1]), session);
    content.replaceChildren(page.root);
    const current = page;
    void current.refresh();
    quiet = window.setInterval(() => void current.refresh(), QUIET_REFRESH_MS);
  };
  window.addEventListener('hashchange', show);
  show();
}

void main();
