// The player page in headless Chromium, against a stream server that tests/test_web_browser.py
// starts ($BASE_URL) on fixtures it wrote ($WEB_FIXTURES).
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";

import { chromium } from "playwright-core";

const BASE = process.env.BASE_URL, DIR = process.env.WEB_FIXTURES, INFO = JSON.parse(process.env.WEB_INFO || "{}");
const MIN_PSNR = 45; // dB, page vs CPU renderer on a 128 x 128 view (measured 51.7 dB; docs/web.md)
let context;
const consoleErrors = [];

before(async () => {
  assert.ok(BASE && DIR, "run through tests/test_web_browser.py (it serves the fixtures)");
  context = await chromium.launchPersistentContext(fs.mkdtempSync(path.join(os.tmpdir(), "gmc-chromium-")), {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--enable-unsafe-swiftshader", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
  });
});

after(async () => { if (context) await context.close(); });

async function open(url, { watchConsole = true } = {}) {
  const page = await context.newPage();
  if (watchConsole) {
    page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(`${url}: ${m.text()}`); });
    page.on("pageerror", (e) => consoleErrors.push(`${url}: ${e.message}`));
  }
  await page.goto(`${BASE}${url}`);
  return page;
}

async function waitFor(page, fn, arg, timeout = 60000) {
  await page.waitForFunction(fn, arg, { timeout, polling: 50 });
}

test("the page loads from the stream server, lists the streams, and has WebGL2", async () => {
  const page = await open("/");
  await page.waitForSelector("#streams li");
  const items = await page.$$eval("#streams li a:first-child", (as) => as.map((a) => a.textContent));
  assert.deepEqual(items.sort(), ["damaged", "moving"]);
  const gl = await page.evaluate(() => {
    const c = document.createElement("canvas").getContext("webgl2");
    return c ? c.getParameter(c.VERSION) : null;
  });
  assert.match(gl, /WebGL 2/);
  await page.close();
});

test("a scene file opened in the page matches the CPU renderer for the same camera", async () => {
  const cam = JSON.parse(fs.readFileSync(path.join(DIR, "camera.json"), "utf8"));
  const page = await open(`/?size=${cam.width}x${cam.height}`);
  await page.setInputFiles("#file", path.join(DIR, "scene.gsz"));
  await waitFor(page, () => window.__player && window.__player.shown);
  const pixels = await page.evaluate(async (c) => {
    const p = window.__player;
    p.setCamera(c);
    await p.idle();
    const gl = p.renderer.gl, w = gl.drawingBufferWidth, h = gl.drawingBufferHeight, px = new Uint8Array(w * h * 4);
    p.renderer.draw(p.camera());
    gl.readPixels(0, 0, w, h, gl.RGBA, gl.UNSIGNED_BYTE, px);
    return { w, h, data: Array.from(px) };
  }, cam);
  const want = fs.readFileSync(path.join(DIR, "scene_cpu.rgb"));
  assert.equal(pixels.w * pixels.h * 3, want.length);
  let se = 0;
  for (let y = 0; y < pixels.h; y++) {
    for (let x = 0; x < pixels.w; x++) {
      const g = ((pixels.h - 1 - y) * pixels.w + x) * 4, c = (y * pixels.w + x) * 3; // GL rows are bottom-up
      for (let k = 0; k < 3; k++) se += (pixels.data[g + k] - want[c + k]) ** 2;
    }
  }
  const psnr = 10 * Math.log10((255 * 255) / (se / want.length));
  console.log(`page vs CPU renderer: ${psnr.toFixed(2)} dB`);
  assert.ok(psnr >= MIN_PSNR, `PSNR ${psnr.toFixed(2)} dB < ${MIN_PSNR}`);
  await page.close();
});

test("playback over HTTP advances frames; a seek lands on the requested frame", async () => {
  const page = await open("/?stream=moving&size=320x240");
  await waitFor(page, () => window.__player && window.__player.shown && window.__player.shown.number === 0);
  await page.click("#play");
  await waitFor(page, (last) => window.__player.shown.number === last, INFO.frames - 1);
  assert.equal((await page.textContent("#counter")).startsWith(`frame ${INFO.frames} / ${INFO.frames}`), true);
  for (const target of [7, 2, 10]) {
    await page.evaluate((n) => window.__player.seek(n), target);
    await waitFor(page, (n) => window.__player.shown.number === n, target);
    await page.evaluate(() => window.__player.idle());
  }
  assert.deepEqual(await page.evaluate(() => window.__player.errors), []);
  if (process.env.WEB_SCREENSHOT) await (await page.$("#player")).screenshot({ path: process.env.WEB_SCREENSHOT });
  await page.close();
});

test("live mode over the WebSocket advances frames from the newest keyframe", async () => {
  const page = await open("/?stream=moving&live=1&size=320x240");
  const lastKey = INFO.keyframes[INFO.keyframes.length - 1];
  await waitFor(page, (last) => window.__player.shown && window.__player.shown.number === last, INFO.frames - 1);
  const history = await page.evaluate(() => window.__player.history);
  assert.equal(history[0], lastKey, "a live client joins at the newest keyframe");
  assert.deepEqual(history, Array.from({ length: INFO.frames - lastKey }, (_, i) => lastKey + i));
  assert.deepEqual(await page.evaluate(() => window.__player.errors), []);
  await page.close();
});

test("a damaged frame shows a message, keeps the last good frame, and playback goes on", async () => {
  const page = await open("/?stream=damaged&size=320x240");
  await waitFor(page, () => window.__player && window.__player.shown && window.__player.shown.number === 0);
  await page.click("#play");
  await waitFor(page, () => window.__player.errors.length > 0);
  const [error] = await page.evaluate(() => window.__player.errors); // the text player.message() showed
  assert.match(error.text, /frame 3 cannot be shown .*checksum/);
  assert.equal(error.shown, 2, "the last good frame before the damaged frame 3 stays on screen");
  await waitFor(page, (last) => window.__player.shown.number === last, INFO.frames - 1);
  await page.close();
});

test("?bench=1 prints decode, sort and draw timings as JSON", async () => {
  const page = await open("/?stream=moving&bench=1&size=160x120");
  await waitFor(page, () => window.__player && window.__player.bench);
  const b = JSON.parse(await page.textContent("#bench"));
  assert.ok(b.gaussians > 0);
  assert.equal(b.frames.length, INFO.frames - 1);
  for (const k of ["keyframeDecodeMs", "deltaDecodeMsMedian", "drawMs"]) assert.ok(b[k] > 0, k);
  assert.ok(b.sortMsMedian >= 0);
  assert.match(b.renderer, /./);
  await page.close();
});

test("without WebGL2 the page says so instead of failing", async () => {
  const page = await context.newPage();
  await page.addInitScript(() => {
    const get = HTMLCanvasElement.prototype.getContext;
    HTMLCanvasElement.prototype.getContext = function (kind, ...rest) { return kind === "webgl2" ? null : get.call(this, kind, ...rest); };
  });
  await page.goto(`${BASE}/?stream=moving`);
  await page.waitForFunction(() => window.__player && window.__player.webgl2 === false);
  assert.match(await page.textContent("#message"), /needs WebGL2/);
  await page.close();
});

test("the console showed no errors", () => {
  assert.deepEqual(consoleErrors, []);
});
