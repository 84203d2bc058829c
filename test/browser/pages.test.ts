import { existsSync, mkdirSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildSimulator } from '../../apps/simulator/src/app.ts';
import { credentialsFrom } from '../../apps/simulator/src/auth.ts';
import { freePort, repoRoot, spawnScript, type Spawned } from '../support/processes.ts';
import { redisUrl, testNamespace } from '../support/redis.ts';

/*
 * A person's view, in real Chromium (Debian's package, driven by playwright-core): sign up on the
 * web page, find the confirmation on the simulator's phone, reply YES, watch prices arrive; and
 * the dashboard shows live values. Each page leaves a screenshot under test-output/screenshots.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available) console.warn(`browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);

const shots = join(repoRoot, 'test-output', 'screenshots');
/** One of this machine's addresses that is not loopback: a browser reaching the simulator there is "another machine". */
const outsideAddress = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

describe.skipIf(!available)('pages in a real browser', () => {
  let system: Spawned;
  let browser: Browser;
  let ingress: string;
  let simulator: string;
  let dashboard: string;

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    const port = await freePort();
    const simPort = await freePort();
    system = spawnScript('scripts/start.ts', {
      REDIS_URL: redisUrl(),
      REDIS_NAMESPACE: testNamespace(),
      PORT: String(port),
      SIMULATOR_PORT: String(simPort),
      TICK_INTERVAL_MS: '400',
      LOG_LEVEL: 'warn',
    });
    await system.waitForOutput(/tickercast is running/, 60_000);
    // The address npm start prints carries a token of the run's own: opening it logs the browser in.
    dashboard = system.output().match(/Dashboard\s+(http:\/\/localhost:\d+\/\?token=[\w-]+)/)![1]!.replace('localhost', '127.0.0.1');
    ingress = `http://127.0.0.1:${port}`;
    simulator = `http://127.0.0.1:${simPort}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    system?.child.kill('SIGTERM');
    await system?.exited;
  }, 40_000);

  async function signUp(page: Page, channel: string, number: string, name: string): Promise<void> {
    await page.goto(`${ingress}/signup`);
    await page.selectOption('select[name=channel]', channel);
    await page.fill('input[name=number]', `+${number}`);
    await page.check('input[name=tickers][value=MSFT]');
    await page.click('button[type=submit]');
    await page.getByText('Check your phone and reply').waitFor();
    await page.screenshot({ path: join(shots, `signup-${name}.png`), fullPage: true });
  }

  async function confirmOnPhone(page: Page, channel: string, number: string, name: string): Promise<string[]> {
    await page.goto(`${simulator}/?channel=${channel}&number=${number}`);
    await page.locator('.msg.out', { hasText: 'YES' }).first().waitFor({ timeout: 15_000 });
    await page.fill('#text', 'YES');
    await page.click('form.compose button[type=submit]');
    await page.locator('.msg.out', { hasText: /Subscribed to MSFT/ }).first().waitFor({ timeout: 15_000 });
    // Then the feed: at least one price update after the confirmation.
    await page.locator('.msg.out', { hasText: /^MSFT \d+\.\d{2} [▲▼=]/ }).first().waitFor({ timeout: 15_000 });
    await page.screenshot({ path: join(shots, `phone-${name}.png`), fullPage: true });
    return page.locator('.msg.out').allInnerTexts();
  }

  it('an SMS signup is confirmed by replying YES on the phone, and prices follow', async () => {
    const page = await browser.newPage();
    await signUp(page, 'sms', '447700905001', 'sms');
    const texts = await confirmOnPhone(page, 'sms', '447700905001', 'sms');
    expect(texts[0]).toMatch(/Reply YES to get MSFT/);
    expect(texts.some((t) => /^MSFT \d+\.\d{2} [▲▼=]/.test(t))).toBe(true);
    await page.close();
  }, 60_000);

  it('a Viber signup gets the welcome message, YES starts the feed', async () => {
    const page = await browser.newPage();
    await signUp(page, 'viber_service', '447700905002', 'viber');
    const texts = await confirmOnPhone(page, 'viber_service', '447700905002', 'viber');
    expect(texts[0]).toMatch(/Welcome to tickercast/);
    await page.close();
  }, 60_000);

  it('an invalid number is refused on the page with the reason', async () => {
    const page = await browser.newPage();
    await page.goto(`${ingress}/signup`);
    await page.fill('input[name=number]', '12');
    await page.check('input[name=tickers][value=MSFT]');
    await page.click('button[type=submit]');
    await page.locator('.notice.error').waitFor();
    expect(await page.locator('.notice.error').innerText()).toMatch(/number/i);
    await page.screenshot({ path: join(shots, 'signup-invalid.png'), fullPage: true });
    await page.close();
  }, 30_000);

  it('the dashboard shows live prices and subscriber counts', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(dashboard);
    expect(page.url()).toBe(`${ingress}/`);
    await page.locator('#status', { hasText: 'live' }).waitFor({ timeout: 15_000 });
    // The chart starts from the ticks kept in Redis (the system has ticked for a while), not from two points.
    const points = await page.locator('[data-symbol=MSFT] polyline').getAttribute('points');
    expect(points!.trim().split(' ').length).toBeGreaterThan(5);
    const price = page.locator('[data-symbol=MSFT] [data-field=price]');
    await expect.poll(async () => price.innerText(), { timeout: 10_000 }).toMatch(/^\d+\.\d{2}$/);
    // Two confirmed subscribers from the tests above: one on SMS, one on Viber.
    await expect.poll(async () => page.locator('#channels tbody tr').first().innerText(), { timeout: 10_000 }).toMatch(/SMS\s+1\s/);
    // What each channel is doing: SMS sends MSFT to its subscriber, so its bar moves and its last price is recent.
    const sms = page.locator('[data-channel=sms]');
    await expect.poll(async () => sms.locator('[data-field=age]').innerText(), { timeout: 10_000 }).toMatch(/^(just now|\d+ s ago)$/);
    await expect.poll(async () => Number(await sms.locator('[data-field=rate]').innerText()), { timeout: 10_000 }).toBeGreaterThan(0);
    expect(await sms.locator('[data-field=limit]').innerText()).toMatch(/^\d+$/);
    await expect.poll(async () => sms.locator('[data-field=bar] > i').evaluate((i) => i.getBoundingClientRect().width), { timeout: 10_000 }).toBeGreaterThan(0);
    expect(await sms.locator('[data-field=backlog]').innerText()).toMatch(/^\d+$/);
    expect(await sms.locator('[data-field=throttled]').innerText()).toBe('0');
    // WhatsApp has no subscriber: nothing sent yet.
    expect(await page.locator('[data-channel=whatsapp] [data-field=age]').innerText()).toBe('never');
    expect(await page.locator('#alerts .banner').count()).toBe(0);
    await page.waitForTimeout(1500);
    await page.screenshot({ path: join(shots, 'dashboard.png'), fullPage: true });
    await page.close();
  }, 40_000);

  it('the dashboard shows a red banner while a channel’s provider does not answer, and clears it when it does', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(dashboard);
    await page.locator('#status', { hasText: 'live' }).waitFor({ timeout: 15_000 });
    const outage = await fetch(`${simulator}/_sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ outage: { seconds: 8 } }) });
    expect(outage.ok).toBe(true);
    try {
      const banner = page.locator('#alerts .banner', { hasText: /SMS: the provider is not answering/ });
      await banner.waitFor({ timeout: 15_000 });
      await expect.poll(async () => Number(await page.locator('[data-channel=sms] [data-field=errors]').innerText()), { timeout: 10_000 }).toBeGreaterThan(0);
      await page.screenshot({ path: join(shots, 'dashboard-provider-down.png'), fullPage: true });
      // The outage ends, a probe is answered, the breaker closes and its mark goes.
      await banner.waitFor({ state: 'detached', timeout: 30_000 });
    } finally {
      await fetch(`${simulator}/_sim/faults`, { method: 'DELETE' });
      await page.close();
    }
  }, 60_000);

  // As under compose: the page reached from another address, where /_sim wants the token.
  it.skipIf(!outsideAddress)('the phone page reached from another machine asks for the simulator token, then works with it', async () => {
    const token = 'browser-simulator-token-0123456789';
    const sim = buildSimulator({
      credentials: credentialsFrom({}),
      webhookBaseUrl: 'http://127.0.0.1:9',
      controlToken: token,
      businessNumbers: { sms: '447700900000', whatsapp: '447700900001', messenger: '107083064136738', viber_service: '16273' },
      webhookDelivery: { retries: 0 },
    });
    await sim.app.listen({ port: 0, host: '0.0.0.0' });
    const url = `http://${outsideAddress}:${(sim.app.server.address() as { port: number }).port}/?channel=sms&number=447700905009`;
    const page = await browser.newPage();
    try {
      await page.goto(url);
      await page.locator('#locked').waitFor({ state: 'visible', timeout: 10_000 });
      await page.screenshot({ path: join(shots, 'phone-locked.png'), fullPage: true });
      await page.fill('#token', token);
      await page.click('#locked button[type=submit]');
      await page.locator('#locked').waitFor({ state: 'hidden', timeout: 10_000 });
      await page.fill('#text', 'HELLO');
      await page.click('form.compose button[type=submit]');
      await page.locator('.msg.in', { hasText: 'HELLO' }).waitFor({ timeout: 10_000 });

      // Given in the fragment, the token is used and leaves the address bar.
      const other = await browser.newPage();
      await other.goto(`${url}#token=${token}`);
      await other.locator('.msg.in', { hasText: 'HELLO' }).waitFor({ timeout: 10_000 });
      expect(await other.locator('#locked').isHidden()).toBe(true);
      expect(other.url()).not.toContain(token);
      await other.close();
    } finally {
      await page.close();
      await sim.app.close();
    }
  }, 40_000);
});
