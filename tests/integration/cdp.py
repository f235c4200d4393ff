#!/usr/bin/env python3
"""cdp.py: headless Chromium, driven over the DevTools protocol, for the
integration tests of herald's delivery page (page-browser.t).

It starts `chromium --headless=new --remote-debugging-pipe` (the protocol
over file descriptors 3 and 4: JSON messages ended by a NUL byte, so no
websocket is needed), opens one tab, and then reads commands on stdin, one
a line, answering each with one JSON line on stdout ({"ok": true, "value":
...} or {"ok": false, "error": "..."}):

  open URL             load URL, wait for its load event
  eval JS              evaluate the expression JS (promises awaited); value
  wait SECONDS JS      evaluate JS every 0.1 s until it is truthy (else an
                       error after SECONDS); value, and "seconds" taken
  click SELECTOR       a real mouse click in the middle of the element
  type SELECTOR TEXT   focus the element, select its text, type TEXT
  errors               the errors seen since the last `errors` (console
                       errors, uncaught exceptions, error log entries such
                       as CSP violations and failed requests, dialogs
                       opened by alert() and the like) and clears them
  quit                 close the browser

The first line it writes says whether the browser started. Standard
library only. Options: --chromium PATH (default: chromium), --timeout S
(the bound on any one protocol call, default 30), --log FILE (Chromium's
stderr).
"""
import argparse
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time


class CDPError(Exception):
    pass


class Browser:
    def __init__(self, chromium, timeout, log):
        self.timeout = timeout
        self.next_id = 0
        self.buf = b""
        self.errors = []
        self.loaded = False
        self.session = None
        self.dir = tempfile.mkdtemp(prefix="herald-cdp.")
        to_r, to_w = os.pipe()
        from_r, from_w = os.pipe()
        # Out of the way of 3 and 4, which the child gets them as.
        hi = [fcntl_dup(fd) for fd in (to_r, from_w)]
        for fd in (to_r, from_w):
            os.close(fd)

        def child():
            os.dup2(hi[0], 3)
            os.dup2(hi[1], 4)

        args = [chromium, "--headless=new", "--remote-debugging-pipe",
                "--user-data-dir=" + self.dir, "--no-first-run",
                "--no-default-browser-check", "--disable-gpu",
                "--disable-extensions", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--mute-audio",
                "--password-store=basic", "--window-size=1280,900",
                "about:blank"]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")	# Chromium refuses root otherwise
        self.proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(log, "ab") if log else subprocess.DEVNULL,
            close_fds=False, preexec_fn=child, start_new_session=True)
        for fd in hi:
            os.close(fd)
        self.w = to_w
        self.r = from_r

    # ---- the pipe ----------------------------------------------------------

    def _send(self, method, params=None, session=True):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            n = os.write(self.w, data)
            data = data[n:]
        return self.next_id

    def _read(self, deadline):
        """The next message, or None at the deadline."""
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.r], [], [], left)
            if not ready:
                return None
            chunk = os.read(self.r, 1 << 16)
            if not chunk:
                raise CDPError("chromium closed the DevTools pipe (exit %s)"
                               % self.proc.poll())
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=True, timeout=None):
        i = self._send(method, params, session)
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            msg = self._read(deadline)
            if msg is None:
                raise CDPError("%s: no answer within %ss" % (method, timeout or self.timeout))
            if msg.get("id") == i:
                if "error" in msg:
                    raise CDPError("%s: %s" % (method, msg["error"].get("message")))
                return msg.get("result", {})
            self._event(msg)

    def pump(self, seconds):
        """Handles events for about this long."""
        deadline = time.monotonic() + seconds
        while True:
            msg = self._read(deadline)
            if msg is None:
                return
            self._event(msg)

    def _event(self, msg):
        m, p = msg.get("method"), msg.get("params", {})
        if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", "")))
                            for a in p.get("args", []))
            self.errors.append("console.%s: %s" % (p["type"], text))
        elif m == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            exc = d.get("exception", {}).get("description", "")
            self.errors.append("exception: %s %s (%s:%s)" % (
                d.get("text", ""), exc, d.get("url", ""), d.get("lineNumber")))
        elif m == "Log.entryAdded":
            e = p.get("entry", {})
            if e.get("level") == "error":
                self.errors.append("log (%s): %s %s" % (
                    e.get("source"), e.get("text"), e.get("url", "")))
        elif m == "Page.javascriptDialogOpening":
            self.errors.append("dialog %s: %s" % (p.get("type"), p.get("message")))
            self._send("Page.handleJavaScriptDialog", {"accept": False})
        elif m == "Page.loadEventFired":
            self.loaded = True

    # ---- the commands ------------------------------------------------------

    def start(self):
        version = self.call("Browser.getVersion", session=False)
        target = self.call("Target.createTarget", {"url": "about:blank"},
                           session=False)
        att = self.call("Target.attachToTarget",
                        {"targetId": target["targetId"], "flatten": True},
                        session=False)
        self.session = att["sessionId"]
        for domain in ("Runtime", "Log", "Page"):
            self.call(domain + ".enable")
        return version.get("product")

    def open(self, url):
        self.loaded = False
        res = self.call("Page.navigate", {"url": url})
        if res.get("errorText"):
            raise CDPError("%s: %s" % (url, res["errorText"]))
        deadline = time.monotonic() + self.timeout
        while not self.loaded:
            if time.monotonic() > deadline:
                raise CDPError("%s: no load event within %ss" % (url, self.timeout))
            self.pump(0.05)
        return url

    def eval(self, js):
        res = self.call("Runtime.evaluate", {
            "expression": js, "awaitPromise": True, "returnByValue": True,
            "userGesture": True})
        if "exceptionDetails" in res:
            d = res["exceptionDetails"]
            raise CDPError("%s: %s" % (d.get("text"), d.get("exception", {}).get("description", "")))
        return res.get("result", {}).get("value")

    def wait(self, seconds, js):
        start = time.monotonic()
        value = None
        while True:
            value = self.eval(js)
            if value:
                return value, round(time.monotonic() - start, 2)
            if time.monotonic() - start > seconds:
                raise CDPError("timed out after %ss waiting for %s (last value %r)"
                               % (seconds, js, value))
            self.pump(0.1)

    def _center(self, selector):
        box = self.eval(
            "(function(){var e=document.querySelector(%s);if(!e)return null;"
            "e.scrollIntoView({block:'center'});var r=e.getBoundingClientRect();"
            "return [r.left+r.width/2,r.top+r.height/2,r.width,r.height];})()"
            % json.dumps(selector))
        if not box or box[2] <= 0 or box[3] <= 0:
            raise CDPError("no visible element for %s" % selector)
        return box[0], box[1]

    def click(self, selector):
        x, y = self._center(selector)
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            params = {"type": kind, "x": x, "y": y}
            if kind != "mouseMoved":
                params.update({"button": "left", "clickCount": 1})
            self.call("Input.dispatchMouseEvent", params)
        return selector

    def type(self, selector, text):
        ok = self.eval("(function(){var e=document.querySelector(%s);if(!e)return false;"
                       "e.focus();if(e.select)e.select();return document.activeElement===e;})()"
                       % json.dumps(selector))
        if not ok:
            raise CDPError("cannot focus %s" % selector)
        if text:
            self.call("Input.insertText", {"text": text})
        else:
            for kind in ("keyDown", "keyUp"):
                self.call("Input.dispatchKeyEvent", {
                    "type": kind, "key": "Backspace", "code": "Backspace",
                    "windowsVirtualKeyCode": 8})
        return text

    def take_errors(self):
        self.pump(0.2)
        errs, self.errors = self.errors, []
        return errs

    def close(self):
        try:
            if self.proc.poll() is None:
                self._send("Browser.close", session=False)
                self.proc.wait(10)
        except Exception:
            pass
        if self.proc.poll() is None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(self.proc.pid, sig)
                    self.proc.wait(5)
                    break
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    pass
        else:
            # Its helpers, if any outlived it.
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


def fcntl_dup(fd):
    import fcntl
    return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(description="drive headless Chromium")
    ap.add_argument("--chromium", default="chromium")
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--log")
    opt = ap.parse_args()

    b = Browser(opt.chromium, opt.timeout, opt.log)

    def on_term(signum, frame):
        b.close()
        sys.exit(1)

    signal.signal(signal.SIGTERM, on_term)
    try:
        reply({"ok": True, "value": b.start()})
    except Exception as e:
        reply({"ok": False, "error": "chromium did not start: %s" % e})
        b.close()
        return 1
    try:
        for line in sys.stdin:
            line = line.rstrip("\n")
            cmd, _, arg = line.partition(" ")
            try:
                if cmd == "quit":
                    reply({"ok": True, "value": None})
                    break
                elif cmd == "open":
                    reply({"ok": True, "value": b.open(arg)})
                elif cmd == "eval":
                    reply({"ok": True, "value": b.eval(arg)})
                elif cmd == "wait":
                    secs, _, js = arg.partition(" ")
                    value, took = b.wait(float(secs), js)
                    reply({"ok": True, "value": value, "seconds": took})
                elif cmd == "click":
                    reply({"ok": True, "value": b.click(arg)})
                elif cmd == "type":
                    sel, _, text = arg.partition(" ")
                    reply({"ok": True, "value": b.type(sel, text)})
                elif cmd == "errors":
                    reply({"ok": True, "value": b.take_errors()})
                else:
                    reply({"ok": False, "error": "unknown command %r" % cmd})
            except CDPError as e:
                reply({"ok": False, "error": str(e)})
    finally:
        b.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
