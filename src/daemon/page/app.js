/*
 * herald's delivery page (docs/page.md): the delivery log from
 * GET /api/v1/notifications, filtered by state, app and env (by the API)
 * and by destination (here, on the rows fetched: the API has no
 * destination filter), refreshed every 5 s; a retry button for failed and
 * dead notifications (POST /api/v1/notifications/{id}/retry); one
 * notification in full (GET /api/v1/notifications/{id}); readiness from
 * /readyz. With HERALD_API_TOKEN set the API answers 401 until the token
 * is entered; it is kept in sessionStorage and sent as a bearer token.
 *
 * Every value from the API reaches the page through textContent or
 * setAttribute, never as HTML.
 */
(function () {
  'use strict';

  var TOKEN_KEY = 'herald.apiToken';
  var REFRESH_MS = 5000;

  var timer = null;
  var seq = 0;			/* the latest load; older answers are dropped */
  var waitingForToken = false;

  function $(id) { return document.getElementById(id); }

  /* An element with a class and text (any value, shown as text). */
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function getToken() {
    try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch (e) { return ''; }
  }

  function setToken(t) {
    try {
      if (t) sessionStorage.setItem(TOKEN_KEY, t);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) { /* storage off: the token lasts until reload */ }
    $('forget').hidden = !t;
  }

  /* A request to herald: resolves to {status, body} (body: parsed JSON or null). */
  async function call(method, path) {
    var headers = { 'Accept': 'application/json' };
    var t = getToken();
    if (t) headers['Authorization'] = 'Bearer ' + t;
    var r = await fetch(path, { method: method, headers: headers, cache: 'no-store',
      credentials: 'omit', redirect: 'error' });
    var text = await r.text();
    var body = null;
    try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
    return { status: r.status, body: body };
  }

  function errorText(res) {
    if (res.body && typeof res.body.error === 'string') return res.body.error;
    return 'herald answered ' + res.status;
  }

  function setStatus(text, isError) {
    var s = $('status');
    s.textContent = text;
    s.className = isError ? 'error' : '';
  }

  /* The outcome of the last action (a retry), kept until the next one. */
  function setNotice(text, isError) {
    var n = $('notice');
    n.textContent = text;
    n.className = isError ? 'error' : '';
    n.hidden = !text;
  }

  function askForToken(refused) {
    waitingForToken = true;
    stopTimer();
    $('token-form').hidden = false;
    $('token-why').textContent = refused ?
      'herald refused that token: enter the value of HERALD_API_TOKEN.' :
      'This herald needs its API token (HERALD_API_TOKEN) to show the delivery ' +
      'log. It is kept in this tab\'s session storage only.';
    $('token').focus();
    setStatus('Waiting for the API token.', refused);
  }

  /* The filters as the API's query string; destination stays here. */
  function filters() {
    var q = new URLSearchParams();
    var state = $('f-state').value, app = $('f-app').value.trim(),
        env = $('f-env').value.trim();
    if (state) q.set('state', state);
    if (app) q.set('app', app);
    if (env) q.set('env', env);
    q.set('limit', $('f-limit').value);
    return { query: q.toString(), destination: $('f-destination').value.trim().toLowerCase() };
  }

  function time(t) {
    if (!t) return '-';
    return String(t).replace('T', ' ').replace(/\.\d+Z$/, '').replace(/Z$/, '');
  }

  function story(key) {
    return key ? String(key).split('\u001f').join(' / ') : '-';
  }

  function stateBadge(state) {
    return el('span', 'state state-' + String(state).replace(/[^a-z]/g, ''), state);
  }

  function cell(tr, content, cls) {
    var td = el('td', cls || '');
    if (content instanceof Node) td.appendChild(content);
    else td.textContent = content === null || content === undefined ? '-' : String(content);
    tr.appendChild(td);
    return td;
  }

  function retryable(n) {
    return (n.state === 'failed' || n.state === 'dead') && n.destination;
  }

  function row(n) {
    var ev = n.event || {};
    var tr = el('tr');
    tr.setAttribute('data-id', String(n.id));
    tr.setAttribute('data-state', String(n.state));

    var idButton = el('button', 'link', n.id);
    idButton.type = 'button';
    idButton.title = 'Show notification ' + n.id;
    idButton.addEventListener('click', function () { showDetail(n.id); });
    cell(tr, idButton);
    cell(tr, time(n.created_at));
    cell(tr, stateBadge(n.state), 'state-cell');
    cell(tr, ev.app, 'app');
    cell(tr, ev.env, 'env');

    var what = el('span', 'event', (ev.type || '?') + (ev.status ? ' ' + ev.status : ''));
    var evCell = cell(tr, what, 'event-cell');
    if (ev.id) evCell.appendChild(el('span', 'event-id', ev.id));

    var dest = cell(tr, n.destination, 'destination');
    if (n.reason) dest.title = String(n.reason);
    cell(tr, story(n.correlation_key), 'story');
    cell(tr, n.attempts, 'num');

    var errCell = cell(tr, '', 'last-error');
    if (n.last_error) {
      if (n.last_error.message) errCell.appendChild(el('span', 'err-message', n.last_error.message));
      if (n.last_error.code) errCell.appendChild(el('span', 'err-code', n.last_error.code));
    } else {
      errCell.textContent = '-';
    }

    var act = cell(tr, '', 'actions');
    if (retryable(n)) {
      var b = el('button', 'retry', 'Retry');
      b.type = 'button';
      b.setAttribute('data-id', String(n.id));
      b.addEventListener('click', function () { retry(n.id, b, tr); });
      act.appendChild(b);
    }
    return tr;
  }

  async function loadHealth() {
    var h = $('health');
    try {
      var r = await fetch('/readyz', { cache: 'no-store', credentials: 'omit' });
      var body = null;
      try { body = await r.json(); } catch (e) { body = null; }
      if (r.status === 200) {
        h.textContent = 'ready: the store commits and the provider accepts herald';
        h.className = 'health ok';
      } else {
        h.textContent = 'not ready: ' + (body && body.reason ? body.reason : 'herald answered ' + r.status);
        h.className = 'health bad';
      }
    } catch (e) {
      h.textContent = 'herald does not answer';
      h.className = 'health bad';
    }
  }

  async function load() {
    var mine = ++seq;
    var f = filters();
    stopTimer();
    if (waitingForToken) return;
    loadHealth();
    var res;
    try {
      res = await call('GET', '/api/v1/notifications?' + f.query);
    } catch (e) {
      if (mine === seq) { setStatus('herald does not answer: ' + e.message, true); schedule(); }
      return;
    }
    if (mine !== seq) return;
    if (res.status === 401) { askForToken(!!getToken()); return; }
    if (res.status !== 200 || !res.body || !Array.isArray(res.body.notifications)) {
      setStatus(errorText(res), true);
      schedule();
      return;
    }
    var list = res.body.notifications.filter(function (n) {
      return !f.destination ||
        String(n.destination || '').toLowerCase().indexOf(f.destination) >= 0;
    });
    var frag = document.createDocumentFragment();
    list.forEach(function (n) { frag.appendChild(row(n)); });
    $('rows').replaceChildren(frag);
    $('empty').hidden = list.length > 0;
    setStatus(list.length + ' shown, updated ' + new Date().toLocaleTimeString() +
      (res.body.next_before ? ' (older ones not shown: raise "Show")' : ''), false);
    document.body.setAttribute('data-loaded', String(mine));
    schedule();
  }

  async function retry(id, button, tr) {
    setNotice('', false);
    button.disabled = true;
    button.textContent = 'Retrying';
    var res;
    try {
      res = await call('POST', '/api/v1/notifications/' + encodeURIComponent(id) + '/retry');
    } catch (e) {
      setNotice('The retry was not sent: ' + e.message, true);
      button.disabled = false;
      button.textContent = 'Retry';
      return;
    }
    if (res.status === 401) { askForToken(!!getToken()); return; }
    if (res.status !== 200) {
      setNotice('Notification ' + id + ' was not retried: ' + errorText(res), true);
      button.disabled = false;
      button.textContent = 'Retry';
      return;
    }
    var state = res.body && res.body.state ? res.body.state : 'queued';
    var sc = tr.querySelector('.state-cell');
    if (sc) sc.replaceChildren(stateBadge(state));
    tr.setAttribute('data-state', String(state));
    button.remove();
    setNotice('Notification ' + id + ' is ' + state + ' again.', false);
    stopTimer();
    timer = setTimeout(load, 1000);
  }

  function field(dl, name, value) {
    if (value === undefined) return;
    dl.appendChild(el('dt', '', name));
    var text = value === null ? '-' :
      typeof value === 'object' ? JSON.stringify(value, null, 2) : String(value);
    dl.appendChild(el('dd', '', text));
  }

  async function showDetail(id) {
    var res;
    try {
      res = await call('GET', '/api/v1/notifications/' + encodeURIComponent(id));
    } catch (e) {
      setStatus('herald does not answer: ' + e.message, true);
      return;
    }
    if (res.status === 401) { askForToken(!!getToken()); return; }
    if (res.status !== 200 || !res.body) { setStatus(errorText(res), true); return; }
    var n = res.body, ev = n.event || {}, body = ev.body;
    var dl = el('dl');
    $('detail-title').textContent = 'Notification ' + n.id;
    field(dl, 'state', n.state);
    field(dl, 'destination', n.destination);
    field(dl, 'kind', n.kind);
    field(dl, 'reason', n.reason);
    field(dl, 'provider', n.provider);
    field(dl, 'attempts', n.attempts);
    field(dl, 'next attempt', time(n.next_attempt_at));
    field(dl, 'last error', n.last_error);
    if (n.silence_id) field(dl, 'silence', n.silence_id);
    if (n.digest_id) field(dl, 'digest', 'went out in the digest of notification ' + n.digest_id);
    field(dl, 'story', story(n.correlation_key));
    field(dl, 'channel id', n.channel_id);
    field(dl, 'message id', n.message_id);
    field(dl, 'created', time(n.created_at));
    field(dl, 'updated', time(n.updated_at));
    field(dl, 'delivered', time(n.delivered_at));
    field(dl, 'event id', ev.id);
    if (body && typeof body === 'object') {
      Object.keys(body).forEach(function (k) { field(dl, 'event.' + k, body[k]); });
    } else {
      field(dl, 'event', body);
    }
    $('detail-fields').replaceWith(dl);
    dl.id = 'detail-fields';
    $('detail').hidden = false;
  }

  function stopTimer() {
    if (timer) clearTimeout(timer);
    timer = null;
  }

  function schedule() {
    stopTimer();
    if ($('auto').checked && !waitingForToken) timer = setTimeout(load, REFRESH_MS);
  }

  var typing = null;
  function loadSoon() {
    if (typing) clearTimeout(typing);
    typing = setTimeout(load, 300);
  }

  function start() {
    $('forget').hidden = !getToken();
    $('token-form').addEventListener('submit', function (e) {
      e.preventDefault();
      var t = $('token').value.trim();
      if (!t) return;
      setToken(t);
      $('token').value = '';
      $('token-form').hidden = true;
      waitingForToken = false;
      load();
    });
    $('forget').addEventListener('click', function () {
      setToken('');
      $('rows').replaceChildren();
      load();
    });
    $('filters').addEventListener('submit', function (e) { e.preventDefault(); load(); });
    ['f-state', 'f-limit'].forEach(function (id) { $(id).addEventListener('change', load); });
    ['f-app', 'f-env', 'f-destination'].forEach(function (id) {
      $(id).addEventListener('input', loadSoon);
    });
    $('auto').addEventListener('change', function () { if ($('auto').checked) load(); else stopTimer(); });
    $('refresh').addEventListener('click', load);
    $('detail-close').addEventListener('click', function () { $('detail').hidden = true; });
    load();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
