// The dashboard's script: live updates, API forms, the search box, keyboard navigation,
// relative times, the activity feed, the sync log and file uploads. ES modules, no build step.

import { initFeed } from "./feed.js";
import { initForms } from "./forms.js";
import { initKeys } from "./keys.js";
import { connect } from "./live.js";
import { initPalette } from "./palette.js";
import { initSync } from "./sync.js";
import { initTimes } from "./times.js";
import { initUploads } from "./upload.js";

initFeed();
initForms();
initPalette();
initKeys();
initTimes();
initSync();
initUploads();
connect();
