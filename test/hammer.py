"""A client that hammers one path: the tests of the exact caches (test_token_cache.py,
test_login_caches.py) use it to see when a change stopped or changed what is answered."""

import http.client
import threading
import time


class Hammer:
    """One keep-alive connection sending GET `path` with `headers` back to back on a thread
    (with `pause` seconds between requests). `records` holds (monotonic time sent, time
    answered, status, ETag) per request and `bodies` each distinct ETag's body of a 200."""

    def __init__(self, port, path, headers, pause=0.0):
        self.port, self.path, self.headers, self.pause = port, path, headers, pause
        self.records, self.bodies = [], {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=30)
        assert not self._thread.is_alive(), "the hammering client hung"

    def _run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        while not self._stop.is_set():
            sent = time.monotonic()
            try:
                conn.request("GET", self.path, headers=self.headers)
                r = conn.getresponse()
                body = r.read()
                etag = r.getheader("ETag")
                if r.status == 200 and etag is not None:
                    prior = self.bodies.setdefault(etag, body)
                    assert prior == body, f"one ETag, two bodies: {etag}"
                self.records.append((sent, time.monotonic(), r.status, etag))
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            if self.pause:
                time.sleep(self.pause)

    def answered(self):
        """The requests answered 200 so far."""
        return sum(1 for _, _, status, _ in list(self.records) if status == 200)

    def warm(self, count, what="no answers"):
        """Waits (at most 30 s) until `count` requests were answered 200."""
        give_up = time.monotonic() + 30
        while self.answered() < count:
            assert time.monotonic() < give_up, f"{what}: {self.records[-5:]}"
            time.sleep(0.01)
