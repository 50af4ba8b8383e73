// Small behaviours for the console. Loaded with `defer`; no inline scripts (see the CSP).
// Fields marked data-autosubmit (a select, a date) submit their form when they change: at
// once when picked with the mouse or the date picker; when typed or stepped with the keys,
// on Enter or when focus leaves the field (so stepping through brands does not switch brand
// at the first arrow key, and a year half typed is not a day to show).
(() => {
  const auto = (el) => (el instanceof HTMLSelectElement || (el instanceof HTMLInputElement && el.type === "date")) &&
    el.hasAttribute("data-autosubmit") && el.form;
  const armed = new WeakMap(); // field -> its value when typing or stepping began
  const submit = (el) => { armed.delete(el); el.form.requestSubmit(); };
  document.addEventListener("keydown", (event) => {
    const el = event.target;
    if (!auto(el)) return;
    if (event.key === "Enter") {
      event.preventDefault();
      submit(el);
    } else if (event.key !== "Tab" && event.key !== "Shift" && !armed.has(el)) {
      // Typing or stepping: wait for Enter or for focus to leave (a year half typed is a date).
      armed.set(el, el.dataset.initial ?? el.value);
    }
  });
  document.addEventListener("focusin", (event) => {
    const el = event.target;
    if (auto(el)) el.dataset.initial = el.value;
  });
  document.addEventListener("change", (event) => {
    const el = event.target;
    if (!auto(el)) return;
    if (armed.has(el)) return; // typed or stepped: wait for Enter or blur
    if (el instanceof HTMLInputElement && el.type === "date" && !el.value) return;
    submit(el);
  });
  document.addEventListener("focusout", (event) => {
    const el = event.target;
    if (auto(el) && armed.has(el) && el.value !== armed.get(el)) submit(el);
    else armed.delete(el);
  });
})();

// The phone's sidebar: a drawer behind the top bar's Menu button (see boot.js). Escape, a tap
// outside or a second press folds it; focus goes into it on opening and back to Menu after.
(() => {
  const button = document.querySelector(".menu-button[aria-controls]");
  const nav = button && document.getElementById(button.getAttribute("aria-controls"));
  if (!nav) return;
  let backdrop = null;
  const set = (open, refocus) => {
    nav.classList.toggle("open", open);
    button.setAttribute("aria-expanded", String(open));
    if (open && !backdrop) {
      backdrop = document.createElement("div");
      backdrop.className = "nav-backdrop";
      backdrop.addEventListener("click", () => set(false, true));
      nav.after(backdrop);
      (nav.querySelector("a[aria-current]") || nav.querySelector("a"))?.focus();
    } else if (!open && backdrop) {
      backdrop.remove();
      backdrop = null;
      if (refocus) button.focus();
    }
  };
  button.addEventListener("click", () => set(!nav.classList.contains("open"), true));
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && nav.classList.contains("open")) { e.preventDefault(); set(false, true); }
  });
  // Back on a wide screen the drawer is the sidebar again.
  window.matchMedia("(min-width: 861px)").addEventListener("change", (m) => { if (m.matches) set(false, false); });
})();

// Disclosure forms (the board's ⋯ Move): Escape closes the one focus is in and puts focus
// back on its button; moving focus elsewhere closes it too, so an open form never covers
// the next card.
document.addEventListener("keydown", (e) => {
  if (e.key !== "Escape" || !(e.target instanceof Element)) return;
  const open = e.target.closest("details.move[open]");
  if (!open) return;
  e.preventDefault();
  open.open = false;
  open.querySelector("summary")?.focus();
});
document.addEventListener("focusout", (e) => {
  const open = e.target instanceof Element ? e.target.closest("details.move[open]") : null;
  if (open && e.relatedTarget instanceof Element && !open.contains(e.relatedTarget)) open.open = false;
});

// File inputs marked data-autosubmit-file upload as soon as a photo is picked.
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el instanceof HTMLInputElement && el.type === "file" && el.hasAttribute("data-autosubmit-file") && el.form && el.files.length) {
    el.closest("label")?.classList.add("busy");
    el.form.requestSubmit();
  }
});

// Live regions. An element with `data-live="job lead tech:5000"` (and hx-trigger "live") is
// fetched again when those events arrive on its page's event stream (sse-connect): at once
// for the first event, then at most once per interval (1 s unless given in ms) while a burst
// lasts, and always once more after its last event, so the end of a burst is never lost. A
// region busy with a request waits for it. When the stream reconnects (a restart, a network
// blip), every region refreshes: what happened meanwhile was never sent to this page.
(() => {
  const every = new Map(); // region id -> { last, timer }
  const holding = (el) => {
    if (el.querySelector("details.move[open]")) return true;
    // Forms that follow others' changes keep their edits through a refresh (below).
    if (el.closest("[data-follow-forms]") || el.querySelector("[data-follow-forms]")) return false;
    const active = document.activeElement;
    if (active && el.contains(active) && active.matches("input:not([type=hidden]):not([type=checkbox]), textarea")) return true;
    return [...el.querySelectorAll("input:not([type=hidden]):not([type=checkbox]):not([type=date]), textarea")]
      .some((f) => f.value !== f.defaultValue);
  };
  const wants = (el) =>
    (el.dataset.live || "").split(/\s+/).filter(Boolean).map((t) => {
      const [name, ms] = t.split(":");
      return { name, ms: Number(ms) || 1000 };
    });
  const fire = (id, ms) => {
    const s = every.get(id) || { last: 0, timer: null };
    every.set(id, s);
    if (s.timer) return; // the trailing refresh is already planned
    const run = () => {
      const el = document.getElementById(id);
      if (!el || !window.htmx) { s.timer = null; return; }
      if (el.classList.contains("htmx-request")) { s.timer = setTimeout(run, 150); return; }
      // A form open in the region (the board's ⋯ Move), a field being typed in, or something
      // typed and not sent yet (a note, a forward, a search) holds the refresh: refreshing
      // would take it from under the user's hands.
      if (holding(el)) { s.timer = setTimeout(run, 400); return; }
      s.timer = null;
      s.last = Date.now();
      window.htmx.trigger(el, "live");
    };
    s.timer = setTimeout(run, Math.max(0, s.last + ms - Date.now()));
  };
  const regions = (root) => [...root.querySelectorAll("[data-live][id]")];
  const hooked = new WeakMap(); // EventSource -> event names listened to
  const opened = new WeakSet(); // roots whose stream has opened once
  const sources = new WeakMap(); // root -> its current EventSource
  const hook = (root) => {
    const source = sources.get(root);
    if (!source) return;
    let names = hooked.get(source);
    if (!names) { names = new Set(); hooked.set(source, names); }
    for (const el of regions(root)) {
      for (const { name } of wants(el)) {
        if (names.has(name)) continue;
        names.add(name);
        source.addEventListener(name, () => {
          for (const r of regions(root)) for (const w of wants(r)) if (w.name === name) fire(r.id, w.ms);
        });
      }
    }
  };
  document.addEventListener("htmx:sseOpen", (e) => {
    const root = e.target;
    root.dataset.stream = "open"; // what the page can show, and what tests wait for
    sources.set(root, e.detail.source);
    hook(root);
    if (opened.has(root)) for (const r of regions(root)) fire(r.id, 0);
    opened.add(root);
  });
  document.addEventListener("htmx:sseError", (e) => {
    if (e.target instanceof Element) e.target.dataset.stream = "retrying";
  });
  // A region swapped in may listen for names the page did not have before.
  document.addEventListener("htmx:load", (e) => {
    const root = e.target instanceof Element ? e.target.closest("[sse-connect]") : null;
    if (root) hook(root);
  });
})();

// New leads, noticed on any console page: the sidebar's count (#nav-unread, a live region)
// leads the tab title ("(3) Jobs · Switchboard"); with alerts on (the inbox's "Sound and
// desktop alerts" button, kept in this browser), a rise also chimes and, when the tab is in
// the background, shows a desktop notification.
(() => {
  const KEY = "switchboard.leadAlerts";
  const count = (el) => Number(el?.dataset.count || 0);
  let last = count(document.getElementById("nav-unread"));
  const alertsOn = () => { try { return localStorage.getItem(KEY) === "on"; } catch { return false; } };
  const chime = () => {
    try {
      const ctx = new (window.AudioContext || window.webkitAudioContext)();
      for (const [i, f] of [880, 1320].entries()) {
        const o = ctx.createOscillator(), g = ctx.createGain();
        o.frequency.value = f;
        g.gain.setValueAtTime(0.0001, ctx.currentTime + i * 0.16);
        g.gain.exponentialRampToValueAtTime(0.2, ctx.currentTime + i * 0.16 + 0.02);
        g.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + i * 0.16 + 0.3);
        o.connect(g).connect(ctx.destination);
        o.start(ctx.currentTime + i * 0.16);
        o.stop(ctx.currentTime + i * 0.16 + 0.32);
      }
      setTimeout(() => ctx.close(), 1000);
    } catch { /* no audio here */ }
  };
  document.addEventListener("htmx:load", (e) => {
    const el = e.target;
    if (!(el instanceof Element) || el.id !== "nav-unread") return;
    const n = count(el);
    document.title = (n > 0 ? `(${n}) ` : "") + document.title.replace(/^\(\d+\) /, "");
    for (const m of document.querySelectorAll("[data-unread-mirror]")) {
      m.hidden = n === 0;
      m.firstChild.textContent = String(n);
    }
    if (n > last && alertsOn()) {
      chime();
      if ("Notification" in window && Notification.permission === "granted" && document.hidden) {
        const more = n - last;
        new Notification(more === 1 ? "New lead" : `${more} new leads`, { body: `${n} unread in Switchboard`, tag: "switchboard-leads" });
      }
    }
    last = n;
  });
  const button = document.querySelector("[data-lead-alerts]");
  if (!button) return;
  const show = () => {
    const on = alertsOn();
    button.setAttribute("aria-pressed", String(on));
    button.querySelector("[data-state]").textContent = on ? "on" : "off";
  };
  button.hidden = false;
  show();
  button.addEventListener("click", () => {
    const on = !alertsOn();
    try { localStorage.setItem(KEY, on ? "on" : "off"); } catch { /* private mode: this page only */ }
    show();
    if (!on) return;
    chime();
    // The browser may ask; the chime plays either way.
    if ("Notification" in window && Notification.permission === "default") Notification.requestPermission().catch(() => {});
  });
})();

// Forms inside a live region (data-follow-forms="id ...") follow other people's changes: when
// the region refreshes, a form nobody has touched takes the new values (and the version it
// saves against); a form with edits keeps them, and says the job changed meanwhile (saving
// then tells who changed what, and nothing is overwritten). Forms are updated in place, not
// replaced, so what they hold (the pin map) stays.
(() => {
  const fields = (form) => [...form.elements].filter((el) => el.name && el.type !== "submit" && el.type !== "button" && el.type !== "file");
  const edited = (el) => (el.type === "checkbox" || el.type === "radio") ? el.checked !== el.defaultChecked
    : el instanceof HTMLSelectElement ? [...el.options].some((o) => o.selected !== o.defaultSelected)
    : el.value !== el.defaultValue;
  const key = (el) => (el.type === "checkbox" || el.type === "radio") ? `${el.name}=${el.value}` : el.name;
  document.addEventListener("htmx:beforeSwap", (e) => {
    const region = e.detail.target;
    const ids = region?.dataset?.followForms;
    if (!ids || !e.detail.xhr || e.detail.xhr.status !== 200) return;
    const fresh = new DOMParser().parseFromString(e.detail.serverResponse, "text/html");
    for (const id of ids.split(/\s+/)) {
      const form = document.getElementById(id);
      const next = fresh.getElementById(id);
      if (!form || !next) continue;
      const mine = fields(form);
      if (mine.some(edited)) {
        const before = form.querySelector('input[name="version"]')?.value;
        const after = next.querySelector('input[name="version"]')?.value;
        const note = form.querySelector("[data-changed-note]");
        if (note && before !== after) note.hidden = false;
        continue;
      }
      const theirs = new Map(fields(next).map((el) => [key(el), el]));
      for (const el of mine) {
        const n = theirs.get(key(el));
        if (!n) continue;
        if (el.type === "checkbox" || el.type === "radio") {
          el.checked = el.defaultChecked = n.defaultChecked;
        } else if (el instanceof HTMLSelectElement) {
          for (const o of el.options) o.selected = o.defaultSelected = [...n.options].some((x) => x.value === o.value && x.defaultSelected);
        } else if (el.value !== n.defaultValue) {
          el.value = el.defaultValue = n.defaultValue;
          el.dispatchEvent(new Event("change", { bubbles: true })); // the pin follows its coordinates
        }
      }
    }
  });
})();

// Technician portal: share the phone's location while the page is open, every ~20 s or
// after moving ~50 m, whichever comes first.
(() => {
  const url = document.body.dataset.locationUrl;
  if (!url || !("geolocation" in navigator)) return;
  const state = document.querySelector("[data-location-state]");
  const show = (text, cls) => { if (state) { state.textContent = text; state.className = "location-state " + (cls || ""); } };
  let last = null;
  let latest = null;
  const metres = (a, b) => {
    const r = 6371000, rad = Math.PI / 180;
    const dLat = (b.lat - a.lat) * rad, dLon = (b.lon - a.lon) * rad;
    const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
    return 2 * r * Math.asin(Math.sqrt(h));
  };
  const send = (p) => {
    last = { ...p, at: Date.now() };
    fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(p), keepalive: true })
      .then((r) => show(r.ok ? "Sharing location" : "Location not sent", r.ok ? "on" : "off"))
      .catch(() => show("Offline", "off"));
  };
  navigator.geolocation.watchPosition(
    (pos) => {
      latest = { lat: pos.coords.latitude, lon: pos.coords.longitude, accuracy: pos.coords.accuracy };
      if (!last || metres(last, latest) >= 50 || Date.now() - last.at >= 20000) send(latest);
    },
    () => show("Location off", "off"),
    { enableHighAccuracy: true, maximumAge: 10000 },
  );
  setInterval(() => { if (latest && (!last || Date.now() - last.at >= 20000)) send(latest); }, 5000);
})();

// Dispatch board: drag a job onto a technician's lane (the drop point sets the start, snapped
// to 15 minutes on the server), onto a technician's day in the week view (same time of day),
// or onto the Unassigned column. The ⋯ form does the same from the keyboard. The board
// refreshes itself from the server's SSE events.
(() => {
  const csrf = () => {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || ""; } catch { return ""; }
  };
  let dragged = null;
  document.addEventListener("dragstart", (e) => {
    const block = e.target instanceof Element ? e.target.closest(".job-block[draggable]") : null;
    if (!block) return;
    const rect = block.getBoundingClientRect();
    dragged = {
      job: block.dataset.job,
      version: block.dataset.version || "",
      from: block.dataset.fromTech || "",
      grabX: e.clientX - rect.left,
    };
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", block.dataset.job);
    block.classList.add("dragging");
  });
  document.addEventListener("dragend", (e) => {
    if (e.target instanceof Element) e.target.classList.remove("dragging");
    document.querySelectorAll(".drop-target").forEach((el) => el.classList.remove("drop-target"));
  });
  document.addEventListener("dragover", (e) => {
    const zone = e.target instanceof Element ? e.target.closest("[data-drop-tech]") : null;
    if (!zone || !dragged) return;
    e.preventDefault();
    document.querySelectorAll(".drop-target").forEach((el) => el !== zone && el.classList.remove("drop-target"));
    zone.classList.add("drop-target");
  });
  document.addEventListener("drop", async (e) => {
    const zone = e.target instanceof Element ? e.target.closest("[data-drop-tech]") : null;
    const board = zone ? zone.closest("[data-board]") : null;
    if (!zone || !dragged || !board) return;
    e.preventDefault();
    zone.classList.remove("drop-target");
    const body = new URLSearchParams({
      job: dragged.job,
      version: dragged.version,
      from_tech: dragged.from,
      to_tech: zone.dataset.dropTech,
    });
    if (zone.dataset.dropDay) {
      body.set("day", zone.dataset.dropDay);
    } else if (zone.classList.contains("lane-track")) {
      const rect = zone.getBoundingClientRect();
      const start = Number(board.dataset.dayStart), end = Number(board.dataset.dayEnd);
      const x = Math.min(Math.max(e.clientX - dragged.grabX - rect.left, 0), rect.width);
      body.set("start_ms", String(Math.round(start + (x / rect.width) * (end - start))));
    }
    dragged = null;
    const resp = await fetch("/board/move", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-csrf-token": csrf(), "x-requested-with": "fetch" },
      body,
    });
    if (!resp.ok) {
      const msg = await resp.text();
      const live = document.getElementById("board-live");
      const note = document.createElement("div");
      note.className = "alert error";
      note.setAttribute("role", "alert");
      note.textContent = msg || "That move was not possible.";
      live?.prepend(note);
    }
    if (window.htmx) window.htmx.trigger("#board-live", "board-refresh");
  });
})();

// The board scrolls sideways on a narrow screen: the week opens on today's column, the day
// a little before now (or at its first job), and a live refresh keeps where the dispatcher
// had scrolled to.
(() => {
  const kept = new Map();
  const boxes = (root) => root.querySelectorAll(".week-scroll, .board-grid");
  const keyOf = (box) => `${box.classList.contains("week-scroll") ? "week" : "day"}-${box.closest("[data-brand]")?.dataset.brand || ""}`;
  const place = () => {
    boxes(document).forEach((box) => {
      const key = keyOf(box);
      if (kept.has(key)) {
        box.scrollLeft = kept.get(key);
        return;
      }
      if (box.scrollWidth <= box.clientWidth) return;
      const label = box.querySelector(".week-corner, .lane-label");
      const inset = label ? label.offsetWidth : 0;
      const target = box.querySelector("th.today") || box.querySelector(".now-line") || box.querySelector(".lane-track .job-block");
      if (!target) return;
      const left = target.getBoundingClientRect().left - box.getBoundingClientRect().left + box.scrollLeft;
      const hour = box.classList.contains("board-grid") ? box.scrollWidth / (Number(getComputedStyle(box).getPropertyValue("--hours")) || 9) / 2 : 0;
      box.scrollLeft = Math.max(0, left - inset - hour);
    });
  };
  document.addEventListener("htmx:beforeSwap", (e) => {
    if (e.target instanceof Element && e.target.id === "board-live") {
      boxes(e.target).forEach((box) => kept.set(keyOf(box), box.scrollLeft));
    }
  });
  document.addEventListener("htmx:afterSettle", place);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", place);
  else place();
})();

// Tracking page: live over Server-Sent Events (with a slow poll in case they are blocked), and
// a map of the technician and the address when the address is verified. Without map tiles
// (offline, blocked) the markers still show and the distance and time are in the text.
(() => {
  const main = document.querySelector("[data-tracking]");
  const live = document.getElementById("tracking-live");
  if (!main || !live) return;
  const base = main.dataset.tracking;
  let map = null, home = null, tech = null;
  const num = (v) => (v === undefined || v === "" ? null : Number(v));
  const points = () => {
    const d = document.getElementById("tracking-points")?.dataset || {};
    const at = (lat, lon) => (num(lat) === null || num(lon) === null ? null : [num(lat), num(lon)]);
    return { home: at(d.destLat, d.destLon), tech: at(d.techLat, d.techLon), name: d.techName };
  };
  const icon = (cls, size, anchor) =>
    window.L.divIcon({ className: "map-pin " + cls, html: "<span></span>", iconSize: size, iconAnchor: anchor });
  const draw = () => {
    const el = document.getElementById("tracking-map");
    if (!el || !window.L) return;
    const L = window.L;
    const p = points();
    const first = !map;
    if (first) {
      // Not a tab stop of its own (its zoom buttons are): the text beside it says the same.
      map = L.map(el, { scrollWheelZoom: false, keyboard: false });
      L.tileLayer(el.dataset.tiles, { maxZoom: 19, attribution: el.dataset.attribution }).addTo(map);
    }
    // Labelled on the map itself: on a phone there is no hovering for a title.
    const label = (marker, text, above) => {
      const el = document.createElement("span");
      el.textContent = text; // a name is text, never markup
      return marker.bindTooltip(el, { permanent: true, direction: "top", offset: [0, -above], className: "map-label" });
    };
    if (p.home && !home) home = label(L.marker(p.home, { icon: icon("pin-home", [30, 30], [15, 30]), keyboard: false }).addTo(map), "You", 30);
    else if (p.home) home.setLatLng(p.home);
    if (p.tech && !tech) tech = label(L.marker(p.tech, { icon: icon("pin-tech", [22, 22], [11, 11]), keyboard: false }).addTo(map), p.name || "Technician", 12);
    else if (p.tech) tech.setLatLng(p.tech);
    else if (tech) { tech.remove(); tech = null; }
    const all = [p.home, p.tech].filter(Boolean);
    // Frame both at first, and again only when the technician leaves the view (a map has
    // no bounds before its first view is set).
    const outside = !first && p.tech && !map.getBounds().contains(p.tech);
    if (all.length === 2 && (first || outside)) map.fitBounds(all, { padding: [40, 40], maxZoom: 16 });
    else if (all.length === 1 && first) map.setView(all[0], 15);
    else if (first) map.setView([39.5, -98.35], 4);
  };
  const refresh = async () => {
    try {
      const r = await fetch(base + "/live", { cache: "no-store" });
      if (r.status === 404) { location.reload(); return; } // the link has ended
      if (!r.ok) return;
      live.innerHTML = await r.text();
      draw();
    } catch { /* offline: try again next time */ }
  };
  document.addEventListener("DOMContentLoaded", draw);
  if ("EventSource" in window) {
    const events = new EventSource(base + "/events");
    events.addEventListener("update", refresh);
    // Reconnected (a restart, a network blip): updates sent meanwhile were missed.
    let opened = false;
    events.addEventListener("open", () => { if (opened) refresh(); opened = true; });
  }
  setInterval(refresh, 60000);
})();

// Job page: place the service address's pin by clicking the map or dragging the pin. The
// Latitude/Longitude fields follow, and "Location verified" is ticked: a pin a dispatcher
// places is the address. Typing coordinates moves the pin too.
(() => {
  const el = document.getElementById("pin-map");
  if (!el) return;
  document.addEventListener("DOMContentLoaded", () => {
    const L = window.L;
    const form = el.closest("form");
    if (!L || !form) return;
    const lat = form.elements.namedItem("lat"), lon = form.elements.namedItem("lon");
    const verified = form.elements.namedItem("verified");
    const at = () => {
      const a = Number.parseFloat(lat.value), b = Number.parseFloat(lon.value);
      return Number.isFinite(a) && Number.isFinite(b) && Math.abs(a) <= 90 && Math.abs(b) <= 180 ? [a, b] : null;
    };
    const start = at();
    const map = L.map(el, { scrollWheelZoom: false, keyboard: false }).setView(start || [39.5, -98.35], start ? 16 : 4);
    L.tileLayer(el.dataset.tiles, { maxZoom: 19, attribution: el.dataset.attribution }).addTo(map);
    const icon = L.divIcon({ className: "map-pin pin-home", html: "<span></span>", iconSize: [30, 30], iconAnchor: [15, 30] });
    let pin = null;
    const place = (ll, fromMap) => {
      if (!pin) {
        pin = L.marker(ll, { icon, draggable: true, title: "Service address", keyboard: false }).addTo(map);
        pin.on("dragend", () => place(pin.getLatLng(), true));
      } else pin.setLatLng(ll);
      if (fromMap) {
        lat.value = Number(ll.lat ?? ll[0]).toFixed(6);
        lon.value = Number(ll.lng ?? ll[1]).toFixed(6);
        if (verified) verified.checked = true;
      }
    };
    if (start) place(start, false);
    map.on("click", (e) => place(e.latlng, true));
    for (const input of [lat, lon]) {
      input.addEventListener("change", () => {
        const ll = at();
        if (ll) { place(ll, false); map.panTo(ll); }
      });
    }
  });
})();

// A type-ahead (an input with a datalist) marked data-submit-on-pick opens what was picked from
// its list at once; typing alone waits for Enter.
document.addEventListener("input", (event) => {
  const el = event.target;
  if (!(el instanceof HTMLInputElement) || !el.hasAttribute("data-submit-on-pick") || !el.form) return;
  const picked = event.inputType === "insertReplacementText" || event.inputType === undefined;
  const known = el.list && [...el.list.options].some((o) => o.value === el.value);
  if (picked && known) el.form.requestSubmit();
});

// A field marked data-touch="NAME" sets the hidden NAME to 1 once the user changes it: the
// server then keeps their choice instead of its own suggestion (the desk's Urgent box).
document.addEventListener("input", (event) => {
  const el = event.target;
  if (!(el instanceof HTMLInputElement) || !el.dataset.touch || !el.form) return;
  const flag = el.form.elements.namedItem(el.dataset.touch);
  if (flag instanceof HTMLInputElement) flag.value = "1";
});

// On-call timeline: drag across a day's row (or tap it) to add an override for those hours.
// The override form below takes the times, in the schedule's zone, snapped to 15 minutes (a
// tap picks the hour under it), and "Who" gets the focus. Each row knows its local midnight
// and its length, which is 23 or 25 hours across a clock change.
(() => {
  const list = document.querySelector(".oncall-timeline[data-zone]");
  const form = document.querySelector("form[data-override-form]");
  if (!list || !form) return;
  const zone = list.dataset.zone;
  const hint = document.getElementById("drag-hint");
  if (hint) hint.hidden = false;
  const QUARTER = 15 * 60 * 1000;
  const local = (ms) => {
    const p = Object.fromEntries(
      new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
        .formatToParts(new Date(ms))
        .map((x) => [x.type, x.value]),
    );
    return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
  };
  let drag = null;
  const at = (track, clientX) => {
    const box = track.getBoundingClientRect();
    const f = Math.min(1, Math.max(0, (clientX - box.left) / box.width));
    return f * Number(track.dataset.span);
  };
  const show = () => {
    const [a, b] = [Math.min(drag.from, drag.to), Math.max(drag.from, drag.to)];
    const span = Number(drag.track.dataset.span);
    drag.pick.style.left = `${(a / span) * 100}%`;
    drag.pick.style.width = `${((b - a) / span) * 100}%`;
  };
  list.addEventListener("pointerdown", (e) => {
    const track = e.target instanceof Element ? e.target.closest(".oncall-track[data-start]") : null;
    if (!track || e.button !== 0) return;
    e.preventDefault();
    const pick = document.createElement("span");
    pick.className = "oncall-pick";
    track.append(pick);
    const x = at(track, e.clientX);
    drag = { track, pick, from: x, to: x, moved: false, x: e.clientX };
    track.setPointerCapture(e.pointerId);
    show();
  });
  list.addEventListener("pointermove", (e) => {
    if (!drag) return;
    drag.to = at(drag.track, e.clientX);
    if (Math.abs(e.clientX - drag.x) > 4) drag.moved = true;
    show();
  });
  const done = (e) => {
    if (!drag) return;
    const { track, pick, moved } = drag;
    const base = Number(track.dataset.start), span = Number(track.dataset.span);
    let a = Math.min(drag.from, drag.to), b = Math.max(drag.from, drag.to);
    if (moved) {
      a = Math.round(a / QUARTER) * QUARTER;
      b = Math.round(b / QUARTER) * QUARTER;
      if (b - a < QUARTER) b = Math.min(span, a + QUARTER);
    } else {
      a = Math.floor(a / (4 * QUARTER)) * 4 * QUARTER;
      b = Math.min(span, a + 4 * QUARTER);
    }
    if (e.type === "pointercancel") { pick.remove(); drag = null; return; }
    // The picked stretch stays marked, snapped as the form has it.
    Object.assign(drag, { from: a, to: b });
    show();
    drag = null;
    form.elements.namedItem("start").value = local(base + a);
    form.elements.namedItem("end").value = local(base + b);
    for (const old of list.querySelectorAll(".oncall-pick")) if (old !== pick) old.remove();
    const who = form.elements.namedItem("who");
    form.scrollIntoView({ block: "start", behavior: "smooth" });
    who.focus({ preventScroll: true });
  };
  list.addEventListener("pointerup", done);
  list.addEventListener("pointercancel", done);
})();

// A form marked data-submit-once is sent once: a second click (or Enter) while the first is
// on its way does nothing. The server takes it once anyway (the form carries a key); this
// spares the second request. A page brought back from the history can be sent again.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-submit-once") || event.defaultPrevented) return;
  if (form.dataset.sending) {
    event.preventDefault();
    return;
  }
  form.dataset.sending = "1";
  form.setAttribute("aria-busy", "true");
});
window.addEventListener("pageshow", () => {
  for (const form of document.querySelectorAll("form[data-sending]")) {
    delete form.dataset.sending;
    form.removeAttribute("aria-busy");
  }
});

// Desk: switching who is calling keeps what the operator typed in the fields the other caller
// type has too (name, callback number, ...). The answers ride along in this tab's session
// storage for the one page load, never in the address.
(() => {
  const form = document.querySelector("form.desk-form");
  if (!form) return;
  const KEY = "switchboard-desk-carry";
  const client = form.elements.namedItem("client")?.value;
  try {
    const carried = JSON.parse(sessionStorage.getItem(KEY) || "null");
    sessionStorage.removeItem(KEY);
    if (carried && carried.client === client) {
      for (const [name, value] of Object.entries(carried.fields)) {
        const el = form.elements.namedItem(name);
        if (el instanceof HTMLInputElement && el.type === "checkbox") el.checked = el.checked || value === "yes";
        else if (el instanceof HTMLSelectElement) { if (!el.value && [...el.options].some((o) => o.value === value)) el.value = value; }
        else if ((el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement) && !el.value) el.value = value;
      }
    }
  } catch { /* no storage here: the new form starts empty */ }
  for (const tab of document.querySelectorAll(".desk-callers a.tab")) {
    tab.addEventListener("click", () => {
      const fields = {};
      for (const el of form.elements) {
        if (!el.name || !(el.name.startsWith("a_") || el.name === "urgent_reason")) continue;
        if (el instanceof HTMLInputElement && el.type === "checkbox") { if (el.checked) fields[el.name] = "yes"; }
        else if (el.value) fields[el.name] = el.value;
      }
      try { sessionStorage.setItem(KEY, JSON.stringify({ client, fields })); } catch { /* private mode */ }
    });
  }
})();

// A field with an access key is also reached by Alt+that key in every browser (Firefox wants
// Alt+Shift for access keys, and some keyboards type a character with Alt): the desk's client
// picker is Alt+C. The text in it is selected, ready to be typed over.
document.addEventListener("keydown", (e) => {
  if (!e.altKey || e.ctrlKey || e.metaKey || !/^Key[A-Z]$/.test(e.code)) return;
  const key = e.code.slice(3).toLowerCase();
  const target = document.querySelector(`input[accesskey="${key}"]`);
  if (!(target instanceof HTMLInputElement)) return;
  e.preventDefault();
  target.focus();
  target.select();
});
