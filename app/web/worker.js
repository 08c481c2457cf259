// The store worker: loads the same wasm module, which sees it runs in a worker and opens the
// store (SQLite in the origin's private file system) instead of drawing screens.
import init from "./onsite-web.js";

// Whole stacks in the console when something fails in here.
Error.stackTraceLimit = 64;

// The page may ask before the module has loaded: keep those asks for the module's handler.
const early = [];
self.onmessage = (e) => early.push(e);
await init();
for (const e of early) self.onmessage(e);
