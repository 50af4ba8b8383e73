"""Twilio's own Python library reads the SMS stand-in as it reads Twilio.

Starts `switchboard serve --demo` (its built-in SMS stand-in prints an account SID and
token), points twilio-python at the stand-in, sends texts with it, and reads them back:
every page followed through `next_page_uri`, `PageSize`, and the `DateSent`,
`DateSent<` and `DateSent>` filters.

Run:  python3 -m venv .venv && .venv/bin/pip install -r requirements.txt
      .venv/bin/python twilio_client.py ../../target/debug/switchboard
"""

import datetime as dt
import re
import subprocess
import sys
import tempfile
import time

from twilio.rest import Client

BRAND = "+17205550100"
TO = "+17205550177"


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def start(binary, tmp):
    proc = subprocess.Popen(
        [binary, "serve", "--demo", "--listen", "127.0.0.1:0", "--standin-listen", "127.0.0.1:0",
         "--database", f"{tmp}/sb.db", "--data-dir", f"{tmp}/data"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen, standin, sid, token = [], None, None, None
    deadline = time.time() + 60
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            fail("the server exited early:\n" + "".join(seen))
        seen.append(line)
        if m := re.search(r"phones:\s+(http://127\.0\.0\.1:\d+)/", line):
            standin = m.group(1)
        if m := re.search(r"account: (AC[0-9a-f]{32})\s+token: ([0-9a-f]{32})", line):
            sid, token = m.group(1), m.group(2)
        if "switchboard listening" in line:
            break
    if not (standin and sid and token):
        fail("the stand-in's address and credentials were not printed:\n" + "".join(seen))
    return proc, standin, sid, token


def main():
    binary = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        proc, standin, sid, token = start(binary, tmp)
        try:
            check(standin, sid, token)
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    print("twilio-python reads the stand-in like Twilio: create, fetch, pages, DateSent filters")


def check(standin, sid, token):
    client = Client(sid, token)
    client.api.base_url = standin  # everything else as against api.twilio.com
    created = [client.messages.create(to=TO, from_=BRAND, body=f"Page test {i}") for i in range(5)]
    if any(m.status != "queued" or not m.sid.startswith("SM") for m in created):
        fail(f"created messages: {[(m.sid, m.status) for m in created]}")
    # The stand-in moves each text on (sent, delivered) as Twilio does; wait for date_sent.
    deadline = time.time() + 15
    while any(client.messages(m.sid).fetch().date_sent is None for m in created):
        if time.time() > deadline:
            fail("messages were never sent")
        time.sleep(0.2)

    # Every page, two at a time, newest first.
    bodies = [m.body for m in client.messages.list(to=TO, page_size=2)]
    want = [f"Page test {i}" for i in reversed(range(5))]
    if bodies != want:
        fail(f"listing all pages of 2: {bodies}, want {want}")
    first = client.messages.page(to=TO, page_size=2)
    if [m.body for m in first] != want[:2] or first.next_page_url is None:
        fail(f"first page: {[m.body for m in first]}, next {first.next_page_url}")
    second = first.next_page()
    third = second.next_page()
    if [m.body for m in second] != want[2:4] or [m.body for m in third] != want[4:]:
        fail(f"pages: {[m.body for m in second]} then {[m.body for m in third]}")
    if third.next_page() is not None:
        fail("a page after the last one")
    if [m.body for m in client.messages.list(to=TO, limit=3, page_size=2)] != want[:3]:
        fail("limit across pages")

    # DateSent filters (UTC).
    now = dt.datetime.now(dt.timezone.utc)
    hour = dt.timedelta(hours=1)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    cases = [
        ("date_sent_after an hour ago", dict(date_sent_after=now - hour), 5),
        ("date_sent_after in an hour", dict(date_sent_after=now + hour), 0),
        ("date_sent_before an hour ago", dict(date_sent_before=now - hour), 0),
        ("date_sent_before in an hour", dict(date_sent_before=now + hour), 5),
        ("date_sent today", dict(date_sent=today), 5),
        ("date_sent tomorrow", dict(date_sent=today + 24 * hour), 0),
    ]
    for what, filters, n in cases:
        got = client.messages.list(to=TO, page_size=2, **filters)
        if len(got) != n:
            fail(f"{what}: {len(got)} messages, want {n}")
    other = client.messages.list(to="+17205550199")
    if other:
        fail(f"To filters: {[m.body for m in other]}")


if __name__ == "__main__":
    main()
