"""A calendar program's reading of an on-call feed, with the `icalendar` library (the parser
behind many Python calendar tools): RFC 5545 as written, events in UTC, unique stable UIDs.

Starts `switchboard serve --demo`, makes an API key with the CLI, creates a schedule for the
demo's Harbor with two of its people in daily turns, issues the schedule's feed and reads it.

Run: python ical_check.py path/to/switchboard
"""

import datetime as dt
import json
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

from icalendar import Calendar


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def start(binary, tmp):
    proc = subprocess.Popen(
        [binary, "serve", "--demo", "--listen", "127.0.0.1:0", "--standin-listen", "127.0.0.1:0",
         "--database", f"{tmp}/sb.db", "--data-dir", f"{tmp}/data"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen, base = [], None
    deadline = time.time() + 60
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            fail("the server exited early:\n" + "".join(seen))
        seen.append(line)
        if m := re.search(r"switchboard listening address=(127\.0\.0\.1:\d+)", line):
            base = f"http://{m.group(1)}"
            break
    if not base:
        fail("the server did not say where it listens:\n" + "".join(seen))
    return proc, base


def api(base, key, method, path, body=None):
    req = urllib.request.Request(f"{base}/api/v1{path}", method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


def check(binary, tmp, base):
    key = subprocess.run([binary, "api-key", "create", "--org", "demo", "--name", "ical-check",
                          "--database", f"{tmp}/sb.db"], capture_output=True, text=True, check=True).stdout.strip()
    harbor = next(b for b in api(base, key, "GET", "/brands")["brands"] if b["name"].startswith("Harbor"))
    people = [f"user:{u['id']}" for u in api(base, key, "GET", "/users")["users"]][:2]
    schedule = api(base, key, "POST", "/schedules", {
        "client_id": harbor["id"], "name": "After hours",
        "layers": [{"name": "Nights", "members": people, "shift": {"unit": "days", "count": 1}, "start": "2026-11-01T17:00"}],
    })["schedule"]
    url = api(base, key, "POST", f"/schedules/{schedule['id']}/feeds", {})["url"]
    with urllib.request.urlopen(url) as r:
        if r.headers["Content-Type"] != "text/calendar; charset=utf-8":
            fail(f"content type {r.headers['Content-Type']}")
        raw = r.read()
    cal = Calendar.from_ical(raw)
    if str(cal.get("VERSION")) != "2.0" or not str(cal.get("PRODID")):
        fail(f"calendar header: {cal.get('VERSION')!r} {cal.get('PRODID')!r}")
    events = list(cal.walk("VEVENT"))
    if len(events) < 60:
        fail(f"{len(events)} events; daily turns over 120 days should give more than 60")
    uids = [str(e["UID"]) for e in events]
    if len(set(uids)) != len(uids):
        fail("UIDs repeat")
    names = {p["member"]: p["name"] for p in schedule["people"]}
    for e in events:
        start, end = e.decoded("DTSTART"), e.decoded("DTEND")
        if start.tzinfo is None or start.utcoffset() != dt.timedelta(0) or end <= start:
            fail(f"event {e['UID']}: {start!r} .. {end!r}")
        if not any(str(e["SUMMARY"]) == f"{n} on call" for n in names.values()):
            fail(f"summary {e['SUMMARY']!r}")
        # Daily turns at 17:00 in Boston: each event is a day long (23 or 25 hours across a clock change).
        hours = (end - start).total_seconds() / 3600
        if hours not in (23, 24, 25) and e is not events[0] and e is not events[-1]:
            fail(f"event {e['UID']} lasts {hours} hours")
    with urllib.request.urlopen(url) as r:
        if Calendar.from_ical(r.read()).walk("VEVENT")[0]["UID"] != events[0]["UID"]:
            fail("UIDs changed between two reads")
    print(f"icalendar reads the on-call feed: {len(events)} events in UTC, unique stable UIDs")


def main():
    binary = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        proc, base = start(binary, tmp)
        try:
            check(binary, tmp, base)
        finally:
            proc.terminate()
            proc.wait(timeout=20)


if __name__ == "__main__":
    main()
