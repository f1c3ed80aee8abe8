"""
N concurrent uploads to Folio with Python's requests (one thread and one connection each):
prints one JSON line per request, {"status": 202|429|…, "retryAfter": "…", "id": "…"} or
{"error": "ExceptionName: message"}. Used by refusals-clients.test.ts as a second real client.
usage: concurrent-uploads.py URL FILE N [API_KEY]
"""
import json
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import requests

url, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
headers = {"x-api-key": sys.argv[4]} if len(sys.argv) > 4 else {}
with open(path, "rb") as f:
    data = f.read()
start = threading.Barrier(n)
lock = threading.Lock()


def one(i):
    # Every thread waits for the others, so the n requests are in flight together.
    try:
        start.wait(timeout=60)
    except threading.BrokenBarrierError:
        pass
    try:
        r = requests.post(url, files={"file": (f"page-{i}.png", data, "image/png")}, headers=headers, timeout=120)
        body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
        out = {"status": r.status_code, "retryAfter": r.headers.get("retry-after"), "id": body.get("id")}
    except Exception as e:  # the failure the test counts: a request that got no HTTP status
        out = {"error": f"{type(e).__name__}: {e}"}
    with lock:
        print(json.dumps(out), flush=True)


with ThreadPoolExecutor(max_workers=n) as pool:
    list(pool.map(one, range(n)))
