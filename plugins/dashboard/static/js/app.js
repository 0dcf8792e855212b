// The dashboard's script: live updates, API forms, the search box, keyboard navigation,
// relative times and the activity feed. ES modules, no build step.

import { initFeed } from "./feed.js";
import { initForms } from "./forms.js";
import { initKeys } from "./keys.js";
import { connect } from "./live.js";
import { initPalette } from "./palette.js";
import { initTimes } from "./times.js";

initFeed();
initForms();
initPalette();
initKeys();
initTimes();
connect();
