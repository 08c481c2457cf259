// Drives the OnSite technician app, served by dioxus-liveview, in Debian's Chromium at phone size
// through one whole job. Started by tests/e2e/browser.rs, which owns the server, the phone's store
// and the checks on what the store holds afterwards.
//
// Environment: ONSITE_APP_URL (the app page), ONSITE_SERVER_URL and ONSITE_PAIRING_CODE (to pair
// through the settings screen), ONSITE_CUSTOMER (the job to work), ONSITE_PHOTO (a JPEG),
// ONSITE_QR (a PNG with a part's QR code), ONSITE_SCREENSHOTS (folder for the screenshots),
// ONSITE_GEOLOCATION ("lat,lon": where the browser says the phone is), ONSITE_BIG_PHOTO (a 12 MP
// JPEG, processed while the test taps around).
import { env, helpers, launch, phoneContext, workJob } from "./steps.mjs";

const shots = env("ONSITE_SCREENSHOTS");
const browser = await launch();
const page = await (await phoneContext(browser)).newPage();
page.setDefaultTimeout(15_000);
page.on("pageerror", (e) => console.error("page error:", e.message));
const h = helpers({ page }, shots);
const { shot, status, openSection } = h;

try {
  // Unpaired: Today is empty and offers pairing (Chinese, the default language).
  await page.goto(env("ONSITE_APP_URL"));
  await page.waitForSelector("[data-testid=empty]");
  await page.waitForSelector("[data-testid=not-paired]");
  await shot("today-empty");

  // Pair through settings with the dispatcher's one-time code; switch to English.
  await page.click("[data-testid=go-pair]");
  await page.fill("[data-testid=server]", env("ONSITE_SERVER_URL"));
  await page.fill("[data-testid=code]", env("ONSITE_PAIRING_CODE"));
  await shot("settings-pairing");
  await page.click("[data-testid=pair]");
  await page.waitForSelector("[data-testid=paired]");
  await page.click("[data-testid=language]");
  await page.waitForSelector("[data-testid=sync-now]:has-text('Sync now')");
  await shot("settings-paired");

  // Today's list after the first sync; open the job.
  await page.click("[data-tab=today]");
  const card = page.locator("[data-testid=job-card]", { hasText: env("ONSITE_CUSTOMER") });
  await card.waitFor();
  await shot("today");
  await workJob(page, card, h);

  // The other screens: the knowledge base opened from the job on kettles, van stock, settings.
  await openSection("fixes");
  await page.click("[data-testid=search-kb]");
  await page.waitForSelector("[data-testid=kb-hit]");
  if ((await page.inputValue("[data-testid=kb-category]")) !== "kettle") throw new Error("the knowledge base did not open on kettles");
  await page.fill("[data-testid=kb-search]", "thermostat");
  await page.waitForFunction(() => [...document.querySelectorAll("[data-testid=kb-hit]")].every((h) => /thermostat/i.test(h.textContent)));
  await shot("knowledge-base");
  // And back to the job it was opened from.
  await page.click("[data-testid=kb-back]");
  await status("completed");
  await page.click("[data-tab=stock]");
  await page.waitForSelector("[data-testid=stock]");
  await shot("van-stock");
  await page.click("[data-tab=settings]");
  await page.waitForSelector("[data-testid=sync]");
  await shot("settings-sync");
  // Sign-out asks first, and cannot go ahead while work is unsent; cancelling keeps everything
  // (the checks afterwards prove it).
  await page.click("[data-testid=sign-out]");
  await page.waitForSelector("[data-testid=sign-out-question]");
  await page.waitForFunction(() => {
    const unsent = document.querySelector("[data-testid=sync]").dataset.unsent === "true";
    return document.querySelector("[data-testid=sign-out-confirm]").disabled === unsent;
  });
  await shot("settings-sign-out-asks");
  await page.click("[data-testid=sign-out-cancel]");
  await page.waitForSelector("[data-testid=sign-out]");
  await page.click("[data-tab=today]");
  await page.waitForSelector("[data-testid=job-card]");
  await shot("today-after");
} catch (e) {
  await shot("failure").catch(() => {});
  console.error(e);
  const text = await page.evaluate(() => document.body.innerText).catch(() => "(no page)");
  console.error(`page text at failure:\n${text}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
