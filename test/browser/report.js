// SPDX-License-Identifier: MIT
// report.js: drives headless Chromium (puppeteer-core) through renkei's web report:
// every page opens with its content, a host search lands on the host page, a peer
// link is followed, the host list pages and sorts, an impact analysis runs from the
// form. Content is checked, not pixels; screenshots go to SHOTS for a human to look at.
// Usage: node report.js URL SHOTS_DIR [--bench N [--host IP] [--service IP/proto/port]
//                                     [--network CIDR] [--site NAME]]
//   --bench: instead of checking, print "RESULT ui_<page>_ms <p95> ms" (navigation
//   start to content rendered, N loads per page) and leave a screenshot of each
//   page in SHOTS_DIR (bench_<page>.png).
'use strict';
const puppeteer = require('puppeteer-core');
const fs = require('fs');
const path = require('path');

const base = process.argv[2];
const shots = process.argv[3];
const opt = (k) => { const i = process.argv.indexOf(k); return i > 0 ? process.argv[i + 1] : null; };
const bench = opt('--bench');
let failures = 0;
function check(ok, what) {
    console.log((ok ? 'ok   ' : 'FAIL ') + what);
    if (!ok) failures++;
}

async function shot(page, name) {
    await page.screenshot({path: path.join(shots, name + '.png'), fullPage: false});
}

async function text(page, sel) {
    return page.$eval(sel, (e) => e.textContent).catch(() => '');
}

async function main() {
    fs.mkdirSync(shots, {recursive: true});
    const browser = await puppeteer.launch({
        executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
    });
    const page = await browser.newPage();
    await page.setViewport({width: 1400, height: 900});
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // a server and a host from the overview's top services
    await page.goto(base + '/', {waitUntil: 'load'});
    const server = opt('--host') || await page.$eval('table tbody td:nth-child(2) a', (a) => a.textContent);
    const svcHref = opt('--service') ? '/service/' + opt('--service')
        : await page.$eval('table tbody td:first-child a[href^="/service/"]', (a) => a.getAttribute('href'));

    if (bench) {
        const n = parseInt(bench, 10);
        const pages = {
            overview: '/', hosts: '/hosts', hosts_sorted: '/hosts?sort=name', hosts_search: '/hosts?q=10.1',
            host: '/host/' + server, service: svcHref, services: '/services', sites: '/sites',
            events: '/events', monitor: '/monitor', impact: '/impact?fail=' + server,
            graph: '/graph?around=' + server + '&hops=1',
        };
        if (opt('--network'))
            pages.network = '/network/' + opt('--network');
        if (opt('--site'))
            pages.site = '/site/' + encodeURIComponent(opt('--site'));
        for (const [name, url] of Object.entries(pages)) {
            const t = [];
            for (let i = 0; i < n; i++) {
                const t0 = Date.now();
                await page.goto(base + url, {waitUntil: 'load'});
                if (name === 'graph')
                    await page.waitForSelector('#graph[data-rendered], #norenderer', {timeout: 30000}).catch(() => {});
                t.push(Date.now() - t0);
            }
            t.sort((a, b) => a - b);
            console.log(`RESULT ui_${name}_ms ${t[Math.min(t.length - 1, Math.ceil(0.95 * t.length) - 1)]} ms`);
            await shot(page, 'bench_' + name);
        }
        await browser.close();
        return;
    }

    // 1. overview
    check((await text(page, 'h1')).includes('renkei report'), 'overview: title');
    check((await text(page, 'main')).includes('Top services by clients'), 'overview: top services');
    check((await page.$$('nav a')).length === 8, 'overview: navigation has 8 entries');
    await shot(page, 'overview');

    // 2. search a host from the navigation's search box
    await page.type('nav input[name=q]', server);
    await Promise.all([page.waitForNavigation({waitUntil: 'load'}), page.keyboard.press('Enter')]);
    check(page.url().endsWith('/host/' + server), 'search: exact address opens /host/' + server);
    check((await text(page, 'main')).includes('Services provided'), 'host: services provided');
    check((await page.$$('#clients tbody tr')).length > 0, 'host: clients listed');
    await shot(page, 'host');

    // 3. follow a peer link (a client of its services)
    const peer = await page.$eval('#clients tbody td:nth-child(2) a', (a) => a.textContent);
    await Promise.all([page.waitForNavigation({waitUntil: 'load'}),
                       page.click('#clients tbody td:nth-child(2) a')]);
    check((await text(page, 'h1')).startsWith(peer), 'peer link: opens host ' + peer);
    check((await page.$$('#used tbody a[href="/host/' + server + '"]')).length > 0,
          'peer page: uses the server, linked back');
    await shot(page, 'peer');

    // 4. host list: paged, sorted
    await page.goto(base + '/hosts', {waitUntil: 'load'});
    const rows = (await page.$$('#hosts tbody tr:not(.fold)')).length;
    check(rows > 0 && rows <= 100, 'hosts: one page of at most 100 rows (' + rows + ')');
    const firstKind = await page.$eval('#hosts tbody tr td:nth-child(3)', (e) => e.textContent);
    check(firstKind === 'server' || firstKind === 'both', 'hosts: servers first (' + firstKind + ')');
    await shot(page, 'hosts');
    const next = await page.$('.pager a[href*="offset=100"]');
    if (next) {
        await Promise.all([page.waitForNavigation({waitUntil: 'load'}), next.click()]);
        check((await text(page, '.pager')).includes('rows 101'), 'hosts: next page');
    }
    await Promise.all([page.waitForNavigation({waitUntil: 'load'}),
                       page.click('#hosts thead a[href*="sort=volume"]')]);
    // the volume column, wherever it is (the site column exists only with sites)
    const vcol = 1 + await page.$$eval('#hosts thead th', (t) => t.findIndex((th) => th.textContent.startsWith('volume')));
    const vols = await page.$$eval(`#hosts tbody tr:not(.fold) td:nth-child(${vcol})`,
                                   (t) => t.map((e) => parseInt(e.title, 10)));
    check(vols.length > 1 && vols.every((v, i) => i === 0 || vols[i - 1] >= v), 'hosts: sorted by volume, descending');
    check(page.url().includes('sort=volume') && !page.url().includes('offset='), 'hosts: sorting returns to the first page');
    await Promise.all([page.waitForNavigation({waitUntil: 'load'}),
                       page.click('#hosts thead a[href*="sort=volume"]')]);
    const vols2 = await page.$$eval(`#hosts tbody tr:not(.fold) td:nth-child(${vcol})`,
                                    (t) => t.map((e) => parseInt(e.title, 10)));
    check(vols2.every((v, i) => i === 0 || vols2[i - 1] <= v), 'hosts: second click sorts ascending');
    await page.goto(base + '/hosts?q=' + encodeURIComponent(server.split('.').slice(0, 2).join('.')), {waitUntil: 'load'});
    check((await page.$$('#hosts tbody tr')).length > 0, 'hosts: prefix search');

    // 5. impact analysis from the form
    await page.goto(base + '/impact', {waitUntil: 'load'});
    await page.type('textarea[name=fail]', server);
    await Promise.all([page.waitForNavigation({waitUntil: 'load'}), page.click('form.f button')]);
    check(page.url().includes('fail=' + server), 'impact: GET form');
    check((await text(page, '#summary')).includes('services lost'), 'impact: summary');
    check((await page.$$('#affected tbody tr')).length > 0, 'impact: affected hosts with chains');
    check((await page.$$('a#csv[href^="/impact.csv?"]')).length === 1, 'impact: CSV link');
    await shot(page, 'impact');

    // 6. every other page opens with its content
    const pages = [
        ['service', svcHref, '#clients'], ['services', '/services', '#services'],
        ['sites', '/sites', '#networks'], ['events', '/events', '#events'],
        ['monitor', '/monitor', '#run'], ['network', '/network/' + server.split('.').slice(0, 3).join('.') + '.0/24', '#offers'],
        ['events-of-host', '/events?target=' + server, '#events'],
    ];
    for (const [name, url, sel] of pages) {
        const resp = await page.goto(base + url, {waitUntil: 'load'});
        check(resp.status() === 200 && (await page.$(sel)) !== null, name + ': ' + url);
        await shot(page, name);
    }
    await page.goto(base + '/graph?around=' + server + '&hops=1', {waitUntil: 'load'});
    const drawn = await page.waitForSelector('#graph[data-rendered]', {timeout: 20000}).then(() => true).catch(() => false);
    const fallback = (await page.$('#norenderer')) !== null;
    check(drawn || fallback, 'graph: drawn by sigma.js' + (fallback ? ' (renderer missing: table)' : ''));
    check((await page.$$('#edges tbody tr')).length > 0, 'graph: table view');
    await new Promise((r) => setTimeout(r, 500));
    await shot(page, 'graph');
    // 7. the monitor refreshes itself while the run is running (JSON poll every 2 s)
    const dbPath = opt('--db');
    if (dbPath) {
        const sql = (q) => require('child_process').execFileSync('sqlite3', [dbPath, q]);
        sql("UPDATE meta SET value = 'running' WHERE key = 'run_state'");
        await page.goto(base + '/monitor', {waitUntil: 'load'});
        const sel = 'td[data-c="tracker.0.records_received"]';
        const before = await text(page, sel);
        sql("UPDATE node_stats SET value = value + 1000, updated_at = '2030-01-01T00:00:00Z'" +
            " WHERE kind = 'tracker' AND node_id = 0 AND counter = 'records_received'");
        const changed = await page.waitForFunction(
            (s, b) => document.querySelector(s) && document.querySelector(s).textContent !== b,
            {timeout: 8000}, sel, before).then(() => true).catch(() => false);
        check(changed, 'monitor: live update without reload (' + before + ' -> ' + (await text(page, sel)) + ')');
        check((await page.$$('td[data-s="tracker.0.u"]')).length === 1 &&
              (await text(page, 'td[data-s="tracker.0.u"]')).includes('2030'), 'monitor: pipeline row updated');
        await shot(page, 'monitor-live');
        sql("UPDATE meta SET value = 'complete' WHERE key = 'run_state'");
        const reloaded = await page.waitForFunction(() => document.getElementById('state').textContent === 'complete',
                                                    {timeout: 8000}).then(() => true).catch(() => false);
        check(reloaded, 'monitor: end of run seen');
    }
    check(errors.length === 0, 'no script errors' + (errors.length ? ': ' + errors.join('; ') : ''));
    await browser.close();
    console.log(failures ? `${failures} failed` : 'all passed');
    process.exit(failures ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(1); });
