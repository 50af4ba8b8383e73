// Runs before the page is painted (not deferred): marks the page as scripted, so what
// app.js folds away (the phone's sidebar) never flashes open first. Without scripts the
// sidebar simply stays in the page.
document.documentElement.classList.add("js");
