// Drives the installable web app (the technician app built for the browser, served by the sync
// server at /app/) in Debian's Chromium as a phone: pair, go offline, reload (the app starts from
// its service worker's cache), work a whole job offline, close and reopen the app offline (all of
// it is there), kill the browser with SIGKILL right after a saved note (the note is there after
// it restarts), then go online and sync. Started by tests/e2e/web_app.rs, which checks the
// server afterwards.
//
// Environment: as job_flow.mjs, with ONSITE_APP_URL the app's address (…/app/),
// ONSITE_OTHER_CUSTOMER (the job the note goes to) and ONSITE_PROFILE (a fresh folder for the
// browser's data: OPFS, the service worker, its cache).
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { env, helpers, persistentPhone, workJob } from "./steps.mjs";

const shots = env("ONSITE_SCREENSHOTS");
const appUrl = env("ONSITE_APP_URL");
const customer = env("ONSITE_CUSTOMER");
const other = env("ONSITE_OTHER_CUSTOMER");
const profile = env("ONSITE_PROFILE");
let context = await persistentPhone(profile, { isMobile: true });
const ctx = { page: null };
const h = helpers(ctx, shots);
const { shot } = h;
const numbers = {};

/// A new tab on the app (the previous one closed or killed); the Today list is up.
async function openApp() {
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on("pageerror", (e) => console.error("page error:", e.message));
  page.on("worker", (w) => w.on("console", (m) => console.log(`worker ${w.url()} ${m.type()}: ${m.text()}`)));
  ctx.page = page;
  const t0 = Date.now();
  await page.goto(appUrl);
  await page.waitForSelector("[data-testid=day-bar]");
  return { page, startMs: Date.now() - t0 };
}

const openJob = async (page, name) => {
  await page.locator("[data-testid=job-card]", { hasText: name }).first().click();
  await page.waitForSelector("[data-testid=status]");
};

try {
  let { page } = await openApp();
  // A persistent context opens with a blank tab of its own: only ours stays.
  for (const p of context.pages()) if (p !== page) await p.close();
  await page.waitForSelector("[data-testid=not-paired]");
  // Installed: the service worker holds the app shell before the network goes.
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  await shot("web-today-empty");

  // Pair with the dispatcher's code; English from here, a choice the phone keeps.
  await page.click("[data-testid=go-pair]");
  await page.fill("[data-testid=server]", env("ONSITE_SERVER_URL"));
  await page.fill("[data-testid=code]", env("ONSITE_PAIRING_CODE"));
  await page.click("[data-testid=pair]");
  await page.waitForSelector("[data-testid=paired]");
  await page.click("[data-testid=language]");
  await page.waitForSelector("[data-testid=sync-now]:has-text('Sync now')");
  await page.waitForSelector("[data-testid=browser-storage]");
  await shot("web-settings-paired");
  await page.click("[data-tab=today]");
  await page.locator("[data-testid=job-card]", { hasText: customer }).waitFor();
  await page.waitForSelector("[data-testid=sync-dot]:has-text('synced')");

  // No network from here: the reload starts the app from the cache.
  await context.setOffline(true);
  const t0 = Date.now();
  await page.reload();
  const card = page.locator("[data-testid=job-card]", { hasText: customer });
  await card.waitFor();
  numbers.start_from_cache_ms = Date.now() - t0;
  await shot("web-offline-start");

  // The whole job, offline.
  const worked = await workJob(page, card, h);
  numbers.photo_12mp_ms = worked.photo12mpMs;
  numbers.longest_tap_ms = worked.longestTapMs;
  await page.waitForSelector("[data-testid=sync-dot]:has-text('offline')");

  // Close the app and open it again, still offline: everything is there.
  await page.close();
  ({ page } = await openApp());
  await openJob(page, customer);
  await page.waitForSelector("[data-testid=status][data-status=completed]");
  await page.waitForFunction(() => document.querySelectorAll("[data-testid=photos] img").length === 2);
  await page.waitForSelector("[data-testid=rating]");
  await shot("web-reopened-offline");

  // On another job: a note saved, then the browser killed at once (SIGKILL: page, workers and
  // browser die mid-stride). Started again, still offline, the note is there.
  await page.click("[data-tab=today]");
  await openJob(page, other);
  await h.openSection("notes");
  await page.fill("[data-testid=note]", "kill test: gate code 4711");
  await page.click("[data-testid=save-note]");
  await page.waitForSelector("[data-testid=notice][data-kind=ok]");
  execFileSync("pkill", ["-KILL", "-f", profile]);
  await context.close().catch(() => {});
  console.log("browser killed after the saved note; starting it again");
  context = await persistentPhone(profile, { isMobile: true });
  await context.setOffline(true);
  ({ page } = await openApp());
  for (const p of context.pages()) if (p !== page) await p.close();
  await openJob(page, other);
  await h.openSection("notes");
  await page.waitForSelector("[data-testid=notes] >> text=gate code 4711", { state: "attached" });
  await shot("web-after-kill");

  // Online again: one sync sends the day's work.
  await context.setOffline(false);
  await page.click("[data-tab=settings]");
  await page.click("[data-testid=sync-now]");
  await page.waitForSelector("[data-testid=sync][data-unsent=false]", { timeout: 60_000 });
  await shot("web-synced");

  // A new version of the app is published: the open app says it is ready and keeps working; the
  // next start runs it, with everything still on the phone.
  const sw = join(env("ONSITE_WEB_DIR"), "sw.js");
  writeFileSync(sw, readFileSync(sw, "utf8").replace(/const VERSION = "([^"]*)"/, 'const VERSION = "$1-next"'));
  await page.reload();
  await page.waitForSelector("[data-testid=update-ready].on", { timeout: 30_000 });
  await shot("web-update-ready");
  await page.close();
  // The app is closed: with no page left on the old version, the browser activates the new one
  // (a page opened in the same instant could still start on the old one, which then stays until
  // the next start). Watch from a page outside the app until it has.
  const watcher = await context.newPage();
  await watcher.goto(new URL("/health", env("ONSITE_APP_URL")).href);
  await watcher.waitForFunction(
    async () => {
      const reg = await navigator.serviceWorker.getRegistration("/app/");
      return reg && !reg.waiting && !reg.installing && reg.active?.state === "activated";
    },
    null,
    { timeout: 30_000, polling: 250 },
  );
  await watcher.close();
  ({ page } = await openApp());
  await openJob(page, customer);
  await page.waitForSelector("[data-testid=status][data-status=completed]");
  // The new version took over, and the old one's cache went with the old worker.
  let shells = [];
  for (let i = 0; i < 40; i++) {
    shells = await page.evaluate(async () => (await caches.keys()).filter((k) => k.startsWith("onsite-shell-")));
    if (shells.length === 1 && shells[0].endsWith("-next")) break;
    await page.waitForTimeout(250);
  }
  if (shells.length !== 1 || !shells[0].endsWith("-next")) throw new Error(`the new version did not take over: ${shells}`);

  // The store's files in the origin's private file system, read as raw bytes once the app is
  // closed (its worker then lets go of them): the customer's name is nowhere in the clear.
  await page.close();
  const reader = await context.newPage();
  await reader.goto(new URL("/health", env("ONSITE_APP_URL")).href);
  const scan = await reader.evaluate(async (needles) => {
    const files = [];
    async function walk(dir) {
      for await (const [, handle] of dir.entries()) {
        if (handle.kind === "directory") await walk(handle);
        else files.push(new Uint8Array(await (await handle.getFile()).arrayBuffer()));
      }
    }
    await walk(await navigator.storage.getDirectory());
    const found = needles.filter((n) => {
      const want = new TextEncoder().encode(n);
      return files.some((f) => {
        outer: for (let i = 0; i + want.length <= f.length; i++) {
          for (let j = 0; j < want.length; j++) if (f[i + j] !== want[j]) continue outer;
          return true;
        }
        return false;
      });
    });
    return { bytes: files.reduce((n, f) => n + f.length, 0), found };
  }, [customer, other, "SQLite format 3"]);
  console.log(`private files: ${scan.bytes} bytes; in the clear: ${JSON.stringify(scan.found)}`);
  if (scan.bytes < 100_000) throw new Error(`the store's files were not found (${scan.bytes} bytes)`);
  if (scan.found.length) throw new Error(`the store holds ${scan.found.join(", ")} in the clear`);
  await reader.close();
  console.log(`NUMBERS ${Object.entries(numbers).map(([k, v]) => `${k}=${v}`).join(" ")}`);
} catch (e) {
  await shot("failure").catch(() => {});
  console.error(e);
  const text = await ctx.page?.evaluate(() => document.body.innerText).catch(() => "(no page)");
  console.error(`page text at failure:\n${text}`);
  process.exitCode = 1;
} finally {
  await context.close().catch(() => {});
}
