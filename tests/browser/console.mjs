// A dispatcher's day in the console (Chromium, desktop size): log in, create a job with the form,
// assign it from the suggestions, then watch the technician's phone (driven by the Rust test)
// move it to completed without reloading, and open the report. The Rust side (tests/e2e/console.rs)
// waits for the "ASSIGNED <job>" line, works the job on a real device, and syncs it.
import { launch, env } from "./steps.mjs";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const base = env("ONSITE_SERVER_URL");
const shots = env("ONSITE_SHOTS");
mkdirSync(shots, { recursive: true });
let n = 0;
const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: "zh-CN", timezoneId: "Asia/Shanghai" });
const page = await context.newPage();
const shot = async (name) => {
  n += 1;
  const file = join(shots, `${String(n).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file });
  console.log(`screenshot ${file}`);
};
const t0 = Date.now();
try {
  await page.goto(`${base}/console`);
  await page.getByTestId("login").fill(env("ONSITE_LOGIN"));
  await page.getByTestId("password").fill("wrong password");
  await page.getByTestId("log-in").click();
  await page.getByRole("alert").filter({ hasText: /密码|password/ }).waitFor();
  await shot("login-refused");
  await page.getByTestId("password").fill(env("ONSITE_PASSWORD"));
  await page.getByTestId("log-in").click();
  await page.locator('[data-live="true"]').waitFor({ timeout: 20000 });
  console.log(`NUMBERS board_first_render_ms ${Date.now() - t0}`);
  await shot("board");

  // A new job through the form: the form says what is missing as you type.
  await page.getByTestId("tab-new-job").click();
  await page.getByTestId("customer-name").fill("   ");
  await page.getByTestId("problem").fill("洗衣机漏水 / the washer leaks");
  await page.getByTestId("form-error").waitFor();
  await page.getByTestId("customer-name").fill("钱 Qian");
  await page.getByTestId("form-error").waitFor({ state: "detached" });
  await page.getByTestId("customer-phone").fill("13800001234");
  await page.getByTestId("customer-address").fill("上海市徐汇区 1 号");
  await page.getByTestId("brand").fill("Haier");
  await page.getByTestId("model").fill("EG100");
  await shot("new-job-form");
  await page.getByTestId("create").click();

  // Back on the board with the new job selected: assign it from the suggestions.
  const panel = page.getByTestId("job-panel");
  await panel.waitFor();
  const row = page.locator('[data-testid="queue"] [data-testid="job-row"]').filter({ hasText: "钱 Qian" });
  await row.waitFor();
  const job = await row.getAttribute("data-job");
  await panel.getByTestId("suggestion").first().waitFor();
  await shot("suggestions");
  await panel.getByTestId("assign").first().click();
  const assigned = page.locator(`[data-job="${job}"][data-status="assigned"]`);
  await assigned.waitFor();
  await shot("assigned");
  console.log(`ASSIGNED ${job}`);

  // The phone works the job; the row follows without a reload.
  const seen = Date.now();
  await page.locator(`[data-job="${job}"][data-status="completed"]`).waitFor({ timeout: 60000 });
  console.log(`NUMBERS board_update_wait_ms ${Date.now() - seen}`);
  await page.locator(`[data-job="${job}"]`).first().click();
  await page.getByTestId("timeline").filter({ hasText: "completed" }).waitFor();
  await shot("completed");

  const report = await context.request.get(`${base}/admin/v1/jobs/${job}/report.html`);
  if (!report.ok() || !(await report.text()).includes("钱 Qian")) throw new Error(`report: ${report.status()}`);
  const reportPage = await context.newPage();
  await reportPage.goto(`${base}/admin/v1/jobs/${job}/report.html`);
  n += 1;
  await reportPage.screenshot({ path: join(shots, `${String(n).padStart(2, "0")}-report.png`) });
  console.log("DONE");
} catch (e) {
  await shot("failure").catch(() => {});
  console.error(e);
  process.exitCode = 1;
} finally {
  await browser.close();
}
