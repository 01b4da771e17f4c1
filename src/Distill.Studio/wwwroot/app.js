// Distill studio. Everything a dataset holds is untrusted teacher output: it reaches the page only as text (textContent, text
// nodes, form values), never as markup. The tests fail the build if this file ever parses data as HTML.
'use strict';

(() => {
  const FACETS = ['source', 'template', 'version', 'recipe', 'teacher', 'kind', 'tier', 'verified', 'reason', 'decision'];
  const PAGE_SIZE = 50;
  const state = { dataset: '', page: 0, total: 0, selectedId: null, sample: null, editing: false, showOriginal: false };
  const $ = (id) => document.getElementById(id);

  /** Builds an element; strings among the children become text nodes. */
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'class') node.className = value;
      else if (key === 'text') node.textContent = String(value);
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function status(message, isError) {
    const s = $('status');
    s.textContent = message || '';
    s.className = isError ? 'error' : '';
  }

  async function request(path, options) {
    const response = await fetch(path, Object.assign({ credentials: 'same-origin', headers: { Accept: 'application/json' } }, options));
    const body = await response.json().catch(() => ({ error: response.statusText }));
    if (!response.ok) {
      const error = new Error(body.error || response.statusText);
      error.status = response.status;
      throw error;
    }
    return body;
  }

  function get(path, params) {
    const url = new URL(path, window.location.origin);
    for (const [key, value] of Object.entries(params || {})) {
      if (value !== '' && value !== null && value !== undefined) url.searchParams.set(key, value);
    }
    return request(url.pathname + url.search);
  }

  /** State-changing calls carry the studio's header and a JSON body: a cross-site page can send neither without permission. */
  function post(path, body) {
    return request(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Distill-Studio': '1', Accept: 'application/json' },
      body: JSON.stringify(body),
    });
  }

  function fillSelect(select, options, current) {
    select.replaceChildren(...options.map(([value, label]) => new Option(label, value)));
    select.value = options.some(([value]) => value === current) ? current : (options.length ? options[0][0] : '');
  }

  // ---- datasets -------------------------------------------------------------------------------------------------------------
  async function loadDatasets() {
    const datasets = await get('/api/datasets');
    const options = datasets.map((d) => [d.key, `${d.key} (${d.accepted} accepted, ${d.rejected} rejected)`]);
    if (options.length === 0) status('No datasets under the studio\'s data folders.', true);
    fillSelect($('f-dataset'), options, state.dataset);
    fillSelect($('t-dataset'), [['', 'all datasets'], ...options], '');
    state.dataset = $('f-dataset').value;
  }

  // ---- list -----------------------------------------------------------------------------------------------------------------
  function filters() {
    const params = { dataset: state.dataset, page: state.page, size: PAGE_SIZE, q: $('f-q').value.trim() };
    for (const name of FACETS) params[name] = $(`f-${name}`).value;
    return params;
  }

  async function loadList() {
    if (!state.dataset) return;
    try {
      const page = await get('/api/samples', filters());
      state.total = page.total;
      for (const name of FACETS) {
        const select = $(`f-${name}`);
        const values = (page.facets[name] || []).map((f) => [f.value, `${f.value} (${f.count})`]);
        fillSelect(select, [['', `any ${name}`], ...values], select.value);
      }
      renderRows(page.items);
      const first = page.total === 0 ? 0 : page.page * page.page_size + 1;
      $('page-info').textContent = `${first}-${page.page * page.page_size + page.items.length} of ${page.total}`;
      $('prev').disabled = page.page === 0;
      $('next').disabled = (page.page + 1) * page.page_size >= page.total;
      if (page.reading) {
        // A large dataset is still being read: show what there is, say how far, and ask again until the list is whole.
        status(`Reading the dataset: ${page.reading.read.toLocaleString()} of ${page.reading.expected.toLocaleString()} samples so far; counts and filters cover those.`);
        clearTimeout(state.reread);
        state.reread = setTimeout(loadList, 1000);
      } else {
        status('');
      }
    } catch (e) {
      status(e.message, true);
    }
  }

  function renderRows(items) {
    $('rows').replaceChildren(...items.map((item) => {
      const s = item.sample;
      const row = el('tr', { class: s.id === state.selectedId ? 'row selected' : 'row', title: s.id, onclick: () => loadSample(s.id) },
        el('td', { text: s.id.length > 12 ? `${s.id.slice(0, 12)}…` : s.id }),
        el('td', {}, el('span', { class: `badge ${s.source}`, text: s.source })),
        el('td', {}, item.decision ? el('span', { class: `badge ${item.decision}`, text: item.decision }) : ''),
        el('td', { text: `${s.template_id || '-'}@${(s.template_version || '-').slice(0, 10)}` }),
        el('td', { text: s.tier ? `${s.kind} · ${s.tier}` : s.kind }),
        el('td', { text: s.verified === undefined ? '-' : String(s.verified) }),
        el('td', { text: s.reject_reason || '' }),
        el('td', { text: s.preview }));
      return row;
    }));
  }

  // ---- one sample -----------------------------------------------------------------------------------------------------------
  async function loadSample(id) {
    state.selectedId = id;
    state.editing = false;
    try {
      state.sample = await get('/api/sample', { dataset: state.dataset, id });
      renderSample();
      for (const row of $('rows').children) row.classList.toggle('selected', row.title === id);
    } catch (e) {
      status(e.message, true);
    }
  }

  /** Probability to colour: red (unlikely to the teacher) through yellow to green (certain). */
  function heatColor(logprob) {
    const p = Number.isFinite(logprob) ? Math.exp(logprob) : 0;
    return `hsl(${Math.round(120 * p)}, 75%, 78%)`;
  }

  function heatStrip(logprobs) {
    if (!logprobs || logprobs.length === 0) return null;
    const values = logprobs.map((t) => Number(t.logprob));
    const finite = values.filter(Number.isFinite);
    const mean = finite.length ? finite.reduce((a, b) => a + b, 0) / finite.length : NaN;
    const strip = el('div', { class: 'heat', 'aria-label': 'teacher token probabilities' });
    logprobs.forEach((t, i) => {
      const p = Number.isFinite(values[i]) ? Math.exp(values[i]) : 0;
      const alternatives = (t.top || []).map((a) => `${JSON.stringify(a.token)} ${Math.exp(Number(a.logprob)).toFixed(3)}`).join(', ');
      const span = el('span', { title: `${JSON.stringify(t.token)} p=${p.toFixed(3)}${alternatives ? ` | top: ${alternatives}` : ''}` });
      span.textContent = t.token.replace(/\n/g, '⏎\n');
      span.style.backgroundColor = heatColor(values[i]);
      strip.append(span);
    });
    return el('div', {},
      el('div', { class: 'heat-legend', text: `teacher logprobs: ${logprobs.length} tokens, mean logprob ${Number.isFinite(mean) ? mean.toFixed(3) : '-'} (red: unlikely to the teacher, green: certain; hover for alternatives)` }),
      strip);
  }

  function prettyArguments(text) {
    try {
      return { text: JSON.stringify(JSON.parse(text), null, 2), valid: true };
    } catch {
      return { text, valid: false };
    }
  }

  function editor(value, key) {
    const area = el('textarea', { 'data-edit': key });
    area.value = value || '';
    return area;
  }

  function renderTurn(m, i) {
    const header = m.role === 'tool' ? `tool ${m.name || ''} (${m.tool_call_id || ''})` : m.role;
    const turn = el('div', { class: `turn ${m.role}` }, el('div', { class: 'role' }, header, m.is_error ? el('span', { class: 'badge error', text: 'error' }) : null));
    if (state.editing) {
      if (m.reasoning !== undefined) turn.append(el('label', { text: 'reasoning' }), editor(m.reasoning, `${i}.reasoning`));
      if (m.content !== undefined || !(m.tool_calls || []).length) turn.append(editor(m.content, `${i}.content`));
      (m.tool_calls || []).forEach((c, j) => turn.append(el('div', { class: 'call' }, el('span', { class: 'name', text: `→ ${c.name}` }), editor(c.arguments, `${i}.call.${j}`))));
      return turn;
    }
    if (m.reasoning) turn.append(el('details', { class: 'reasoning' }, el('summary', { text: 'reasoning' }), el('div', { class: 'text', text: m.reasoning })));
    if (m.content) {
      const pretty = m.role === 'tool' ? prettyArguments(m.content) : null;
      turn.append(pretty && pretty.valid ? el('pre', { class: 'json', text: pretty.text }) : el('div', { class: 'text', text: m.content }));
    }
    for (const c of m.tool_calls || []) {
      const args = prettyArguments(c.arguments);
      turn.append(el('div', { class: 'call' },
        el('span', { class: 'name', text: `→ ${c.name}` }), ` ${c.id} `,
        args.valid ? null : el('span', { class: 'badge error', text: 'arguments are not valid JSON' }),
        el('pre', { class: 'json', text: args.text })));
    }
    const strip = heatStrip(m.logprobs);
    if (strip) turn.append(strip);
    return turn;
  }

  function renderSample() {
    const doc = state.sample;
    const view = doc.curated && !state.showOriginal ? doc.curated : doc;
    const c = doc.curation;
    const teacher = doc.teacher ? `${doc.teacher.provider}/${doc.teacher.model}` : '-';
    const facts = [
      `${doc.template_id || '-'}@${doc.template_version || '-'}`, `recipe ${doc.recipe || '-'}`, `teacher ${teacher}`,
      `verified ${doc.verified === undefined ? '-' : doc.verified}${doc.verifier ? ` (${doc.verifier})` : ''}`,
      `score ${doc.score === undefined ? '-' : doc.score}`, `${doc.prompt_tokens}+${doc.completion_tokens} tokens`, `$${Number(doc.cost_usd).toFixed(6)}`,
      `created ${doc.created_at}`,
    ];
    const reason = el('input', { type: 'text', placeholder: 'reason for rejecting', 'aria-label': 'reject reason' });
    const actions = state.editing
      ? el('div', { class: 'actions' },
        el('button', { type: 'button', onclick: saveEdit, text: 'Save edit' }),
        el('button', { type: 'button', onclick: () => { state.editing = false; renderSample(); }, text: 'Cancel' }))
      : el('div', { class: 'actions' },
        el('button', { type: 'button', onclick: () => decide({ action: 'accept' }), text: 'Accept' }),
        reason,
        el('button', { type: 'button', onclick: () => decide({ action: 'reject', reason: reason.value }), text: 'Reject' }),
        el('button', { type: 'button', onclick: () => { state.editing = true; renderSample(); }, text: 'Edit' }));
    const children = [
      el('h2', { text: doc.id }),
      el('div', { class: 'meta' }, el('span', { class: `badge ${doc.source}`, text: doc.source }), el('span', { class: 'badge', text: doc.kind }),
        doc.reject_reason ? el('span', { class: 'badge rejected', text: `pipeline: ${doc.reject_reason}` }) : null, facts.join(' · ')),
      c ? el('div', { class: 'meta' }, el('span', { class: `badge ${c.decision}`, text: c.decision }),
        `${c.reason ? `"${c.reason}" ` : ''}at ${c.at} (revision ${c.revision})`) : el('div', { class: 'meta', text: 'no curation decision yet' }),
      actions,
    ];
    if (doc.curated) {
      const toggle = el('input', { type: 'checkbox', onchange: (e) => { state.showOriginal = e.target.checked; renderSample(); } });
      toggle.checked = state.showOriginal;
      children.push(el('label', { class: 'meta' }, toggle, ' show the teacher\'s original instead of the edit'));
    }
    if (doc.seed_input) children.push(el('div', { class: 'meta', text: `seed input: ${doc.seed_input}` }));
    children.push(...view.messages.map(renderTurn));
    if (state.editing) children.push(el('label', { text: 'final answer' }), editor(view.answer, 'answer'));
    else if (view.answer) children.push(el('div', { class: 'answer' }, el('div', { class: 'role', text: 'final answer' }), el('div', { class: 'text', text: view.answer })));
    $('detail').replaceChildren(...children);
  }

  async function decide(decision) {
    const doc = state.sample;
    try {
      await post('/api/decision', Object.assign({ dataset: doc.dataset, id: doc.id, base_revision: doc.curation ? doc.curation.revision : 0 }, decision));
      status(`${decision.action}: saved`);
      await loadSample(doc.id);
      await loadList();
    } catch (e) {
      status(e.message, true);
      if (e.status === 409) await loadSample(doc.id);
    }
  }

  function saveEdit() {
    const doc = state.sample;
    const view = doc.curated && !state.showOriginal ? doc.curated : doc;
    const value = (key, fallback) => {
      const area = document.querySelector(`textarea[data-edit="${key}"]`);
      // An empty box where the turn had no text keeps it textless (so its stored logprobs stay).
      if (!area || (area.value === '' && (fallback === undefined || fallback === null))) return fallback;
      return area.value;
    };
    const messages = view.messages.map((m, i) => ({
      role: m.role,
      content: value(`${i}.content`, m.content),
      reasoning: value(`${i}.reasoning`, m.reasoning),
      tool_calls: (m.tool_calls || []).map((c, j) => ({ id: c.id, name: c.name, arguments: value(`${i}.call.${j}`, c.arguments) })),
      tool_call_id: m.tool_call_id,
      name: m.name,
      is_error: m.is_error,
    }));
    state.editing = false;
    decide({ action: 'edit', messages, answer: value('answer', view.answer) });
  }

  // ---- templates ------------------------------------------------------------------------------------------------------------
  const pct = (x) => (x === undefined || x === null ? '-' : `${(100 * x).toFixed(1)} %`);
  const num = (x, digits) => (x === undefined || x === null ? '-' : Number(x).toFixed(digits));
  const METRICS = [
    ['attempted', (s) => String(s.attempted)],
    ['accepted', (s) => `${s.accepted} (${pct(s.acceptance_rate)})`],
    ['rejects by reason', (s) => Object.entries(s.rejects_by_reason || {}).map(([r, n]) => `${r} ${n}`).join(', ') || '-'],
    ['verification pass rate', (s) => (s.verification_pass_rate === undefined ? '-' : `${pct(s.verification_pass_rate)} of ${s.verification_checked}`)],
    ['self-consistency agreement', (s) => pct(s.self_consistency_agreement)],
    ['exact / near duplicates', (s) => `${pct(s.exact_duplicate_rate)} / ${pct(s.near_duplicate_rate)}`],
    ['distinct-1 / distinct-2', (s) => `${num(s.distinct1, 3)} / ${num(s.distinct2, 3)}`],
    ['self-similarity', (s) => num(s.self_similarity, 3)],
    ['assistant words p10 / p50 / p90', (s) => (s.assistant_words.count ? `${s.assistant_words.p10} / ${s.assistant_words.p50} / ${s.assistant_words.p90}` : '-')],
    ['valid tool calls', (s) => (s.tool_call_validity === undefined ? '-' : `${pct(s.tool_call_validity)} of ${s.tool_calls}`)],
    ['tokens per accepted', (s) => num(s.tokens_per_accepted, 0)],
    ['cost per accepted', (s) => (s.cost_per_accepted === undefined ? '-' : `$${num(s.cost_per_accepted, 6)}`)],
    ['verified per dollar', (s) => num(s.verified_per_dollar, 1)],
    ['students (held-out success)', (s) => (s.students || []).map((x) => `${x.model} ${pct(x.success_rate)} of ${x.tasks}`).join(', ') || '-'],
  ];

  function bars(title, stats, value) {
    const values = stats.map(value);
    const max = Math.max(...values.filter(Number.isFinite), 0);
    return el('div', { class: 'bars' }, el('h3', { text: title }), ...stats.map((s, i) => {
      const bar = el('div', { class: 'bar' });
      bar.style.width = `${max > 0 && Number.isFinite(values[i]) ? (100 * values[i]) / max : 0}%`;
      return el('div', { class: 'bar-row' }, el('span', { text: s.key }), bar, el('span', { text: Number.isFinite(values[i]) ? values[i].toFixed(3) : '-' }));
    }));
  }

  /** The charts of `distill templates compare` found under the run folders, each with its verdict. */
  function comparisons(list) {
    if (list.length === 0) return el('p', { class: 'hint', text: 'No `distill templates compare` results under the run folders.' });
    return el('div', { class: 'comparisons' }, el('h3', { text: 'templates compare' }), ...list.map((c) => el('figure', { class: 'comparison' },
      el('img', { src: `/api/comparison-chart?key=${encodeURIComponent(c.key)}`, alt: `${c.a} vs ${c.b}: rates with Wilson 95 % intervals` }),
      el('figcaption', { text: `${c.a} vs ${c.b} (${c.key}): ${c.verdict}` }))));
  }

  async function loadTemplates() {
    status('computing template statistics…');
    try {
      const [stats, compared] = await Promise.all([get('/api/templates', { dataset: $('t-dataset').value }), get('/api/comparisons')]);
      const table = el('table', {},
        el('thead', {}, el('tr', {}, el('th', { text: 'metric' }), ...stats.map((s) => el('th', { text: s.key })))),
        el('tbody', {}, ...METRICS.map(([name, f]) => el('tr', {}, el('td', { text: name }), ...stats.map((s) => el('td', { text: f(s) }))))));
      $('templates').replaceChildren(
        stats.length ? table : el('p', { class: 'hint', text: 'No template lineage in these datasets.' }),
        stats.length ? bars('acceptance rate', stats, (s) => s.acceptance_rate) : '',
        stats.length ? bars('verification pass rate', stats, (s) => (s.verification_pass_rate === undefined ? NaN : s.verification_pass_rate)) : '',
        stats.length ? bars('verified samples per dollar', stats, (s) => (s.verified_per_dollar === undefined ? NaN : s.verified_per_dollar)) : '',
        comparisons(compared));
      status('');
    } catch (e) {
      status(e.message, true);
    }
  }

  // ---- wiring ---------------------------------------------------------------------------------------------------------------
  function show(view) {
    $('samples-view').hidden = view !== 'samples';
    $('templates-view').hidden = view !== 'templates';
    $('nav-samples').classList.toggle('active', view === 'samples');
    $('nav-templates').classList.toggle('active', view === 'templates');
    if (view === 'templates') loadTemplates();
  }

  function refilter() {
    state.page = 0;
    loadList();
  }

  async function start() {
    $('nav-samples').addEventListener('click', () => show('samples'));
    $('nav-templates').addEventListener('click', () => show('templates'));
    $('f-dataset').addEventListener('change', () => {
      state.dataset = $('f-dataset').value;
      for (const name of FACETS) $(`f-${name}`).value = '';
      refilter();
    });
    for (const name of FACETS) $(`f-${name}`).addEventListener('change', refilter);
    let timer = 0;
    $('f-q').addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(refilter, 300); });
    $('f-clear').addEventListener('click', () => {
      for (const name of FACETS) $(`f-${name}`).value = '';
      $('f-q').value = '';
      refilter();
    });
    $('prev').addEventListener('click', () => { state.page = Math.max(0, state.page - 1); loadList(); });
    $('next').addEventListener('click', () => { state.page += 1; loadList(); });
    $('t-dataset').addEventListener('change', loadTemplates);
    try {
      await loadDatasets();
      await loadList();
    } catch (e) {
      status(e.message, true);
    }
  }

  document.addEventListener('DOMContentLoaded', start);
})();
