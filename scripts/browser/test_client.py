"""The browser client in a real browser: Debian's chromium, headless, driven by Selenium
through Debian's chromium-driver, against a chatd of its own (in-memory, --auth token).

Run by scripts/browser/run.sh, which passes CHATD_BIN and the venv. Each case prints
"✔ browser: NAME" or "✘ browser: NAME: why"; the last line is "browser: N passed, N failed".
chatd and chromedriver (with the chromium processes it starts, in its process group) are
stopped by pid, also when a case fails or the run is interrupted.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

WAIT = float(os.environ.get("CHAT_BROWSER_WAIT", "60"))  # a bound for failing, not a timing asserted


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Processes:
    """The processes this run started, each stopped by its pid (chromedriver by its group)."""

    def __init__(self):
        self.started = []

    def start(self, argv, log, group=False):
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=group)
        self.started.append((process, group))
        return process

    def stop_all(self):
        for process, group in reversed(self.started):
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM) if group else process.terminate()
                    process.wait(timeout=10)
                except (subprocess.TimeoutExpired, ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL) if group else process.kill()
                    process.wait()
            if group:  # chromium children left in chromedriver's group
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


class CuttableProxy:
    """A TCP proxy to chatd that the test can cut (every connection closed, new ones closed at
    once) and restore: a network drop, seen by the page as its socket closing abnormally."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.open = set()
        self.lock = threading.Lock()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            if not self.up:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self.lock:
                self.open.update([client, upstream])
            for source, sink in [(client, upstream), (upstream, client)]:
                threading.Thread(target=self.pump, args=(source, sink), daemon=True).start()

    def pump(self, source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        self.up = False
        with self.lock:
            ends, self.open = list(self.open), set()
        for end in ends:
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def restore(self):
        self.up = True

    def close(self):
        self.cut()
        self.listener.close()


def wait_for(condition, what, timeout=WAIT):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except Exception as error:  # an element not there yet
            last = error
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what + (f" ({last})" if last else ""))


class Browser:
    """One user's browser session (its own chromium profile, so its own localStorage)."""

    def __init__(self, driver_url, base, name):
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,800", "--lang=en"]:
            options.add_argument(argument)
        self.driver = webdriver.Remote(command_executor=driver_url, options=options)
        self.base = base
        self.name = name

    def quit(self):
        try:
            self.driver.quit()
        except Exception:
            pass

    def find(self, selector):
        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def text(self, selector):
        return self.find(selector).text

    def type(self, selector, text):
        field = self.find(selector)
        field.clear()
        field.send_keys(text)

    def sign_up(self, password):
        self.driver.get(self.base + "/")
        wait_for(lambda: self.find("#name").is_displayed(), "the sign-up form")
        self.type("#name", self.name)
        self.type("#password", password)
        self.find("#signup").click()
        wait_for(lambda: self.find("#app").is_displayed(), f"{self.name} signed in")
        assert self.text("#whoami-name") == "Signed in as " + self.name, self.text("#whoami-name")

    def open_room(self, room):
        self.type("#goto-id", str(room))
        self.find("#goto button").click()
        wait_for(lambda: self.text("#room-heading") == f"Room {room}", f"room {room} shown")

    def wait_connected(self):
        wait_for(lambda: self.text("#connection") == "connected", f"{self.name} connected")

    def say(self, text):
        self.type("#text", text)
        self.find("#send").click()

    def log(self):
        """The active room's messages as (user, text) pairs, in order."""
        return [tuple(json.loads(item)) for item in self.driver.execute_script(
            "return [...document.querySelectorAll('#log li:not(.system)')].map(li =>"
            " JSON.stringify([li.querySelector('.user').textContent, li.querySelector('.text').textContent]))")]

    def wait_log_ends_with(self, *pairs):
        wait_for(lambda: self.log()[-len(pairs):] == list(pairs), f"{self.name} sees {pairs}")

    def members(self):
        return self.driver.execute_script("return [...document.querySelectorAll('#members li')].map(li => li.textContent)")

    def content(self, selector):
        """textContent, including what only screen readers get (.sr)."""
        return self.driver.execute_script("const e = document.querySelector(arguments[0]); return e ? e.textContent : null", selector)

    def token(self):
        return json.loads(self.driver.execute_script("return localStorage.getItem('chatd.session')"))["token"]


def http(base, method, path, token=None, body=None):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = "Bearer " + token
    request = urllib.request.Request(base + path, method=method, headers=headers, data=json.dumps(body).encode() if body is not None else None)
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read() or b"{}")


def main():
    chatd_bin = os.environ["CHATD_BIN"]
    port = int(os.environ.get("CHAT_BROWSER_PORT") or free_port())
    driver_port = free_port()
    screenshot = os.environ.get("CHAT_BROWSER_SCREENSHOT")
    work = tempfile.mkdtemp(prefix="chatd-browser-")
    processes = Processes()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results = []
    browsers = []
    proxy = None
    try:
        chatd_log = open(os.path.join(work, "chatd.log"), "w")
        # --admin-port 0: the admin listener on a free port, so that other chatd (tests side by
        # side, a developer's own on 9090) cannot collide with this one.
        chatd = processes.start([chatd_bin, "serve", "--host", "127.0.0.1", "--port", str(port), "--admin-port", "0"], chatd_log)
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: chatd.poll() is None and urllib.request.urlopen(base + "/v1/chatrooms").status == 200, "chatd to listen")
        driver_log = open(os.path.join(work, "chromedriver.log"), "w")
        processes.start(["/usr/bin/chromedriver", f"--port={driver_port}"], driver_log, group=True)
        driver_url = f"http://127.0.0.1:{driver_port}"
        wait_for(lambda: json.loads(urllib.request.urlopen(driver_url + "/status").read())["value"]["ready"], "chromedriver")

        proxy = CuttableProxy(port)
        ann = Browser(driver_url, f"http://127.0.0.1:{proxy.port}", "Ann Lee")  # Ann's network can be cut
        browsers.append(ann)
        zoe = Browser(driver_url, base, "Zoë 李")
        browsers.append(zoe)
        state = {}

        def two_users_sign_up_join_one_room_and_chat_both_ways():
            ann.sign_up("ann-password")
            zoe.sign_up("zoe-password")
            ann.find("#newroom").click()
            wait_for(lambda: ann.text("#room-heading").startswith("Room "), "Ann's new room")
            room = state["room"] = int(ann.text("#room-heading").split()[1])
            ann.wait_connected()
            assert ann.driver.switch_to.active_element == ann.find("#text"), "focus moves to the message box"
            zoe.find("#refresh").click()  # the room list as it is now
            wait_for(lambda: zoe.find(f'#rooms button[data-room="{room}"]'), "the room in Zoë's list")
            zoe.find(f'#rooms button[data-room="{room}"]').click()
            zoe.wait_connected()
            ann.say("hello Zoë")
            zoe.wait_log_ends_with(("Ann Lee", "hello Zoë"))
            zoe.say("hi Ann, 你好")
            ann.wait_log_ends_with(("Ann Lee", "hello Zoë"), ("Zoë 李", "hi Ann, 你好"))
            wait_for(lambda: ann.text("#pending") == "" and zoe.text("#pending") == "", "both posts acknowledged")
            assert ann.find("#log").get_attribute("aria-live") == "polite"

        def a_name_with_spaces_and_non_latin_letters_works_end_to_end():
            room = state["room"]
            wait_for(lambda: "Zoë 李" in ann.members() and "Ann Lee" in zoe.members(), "each in the other's member list")
            users = http(base, "GET", f"/v1/chatrooms/{room}/users")["users"]
            assert sorted(users) == ["Ann Lee", "Zoë 李"], users
            # Markup in a message stays text.
            zoe.say("<b>bold</b> & <img src=x>")
            ann.wait_log_ends_with(("Zoë 李", "<b>bold</b> & <img src=x>"))
            assert not ann.driver.find_elements(By.CSS_SELECTOR, "#log b, #log img")

        def search_finds_the_rooms_messages():
            ann.type("#q", "你好")
            ann.find("#search-button").click()
            wait_for(lambda: "1 message contains" in ann.text("#search-status"), "search results")
            assert "hi Ann, 你好" in ann.text("#results"), ann.text("#results")

        def a_reload_resumes_without_losing_or_repeating_a_message():
            before = ann.log()
            ann.driver.refresh()
            zoe.say("during the reload 1")  # while Ann's page reloads and resumes
            ann.wait_connected()
            zoe.say("after the reload")
            ann.wait_log_ends_with(("Zoë 李", "after the reload"))
            # Away for longer: the page is gone while Zoë posts three messages.
            ann.driver.get("about:blank")
            wait_for(lambda: "Ann Lee" not in zoe.members(), "Ann's leave at Zoë")
            for number in range(1, 4):
                zoe.say(f"while Ann is away {number}")
            wait_for(lambda: zoe.text("#pending") == "", "Zoë's posts acknowledged")
            ann.driver.get(ann.base + f"/#room={state['room']}")
            ann.wait_connected()
            expected = before + [("Zoë 李", "during the reload 1"), ("Zoë 李", "after the reload")] + [
                ("Zoë 李", f"while Ann is away {number}") for number in range(1, 4)]
            wait_for(lambda: ann.log() == expected, "every message exactly once, in order")
            assert not ann.driver.find_elements(By.CSS_SELECTOR, "#log li.system"), "the resume recovered everything"
            ann.say("back")
            zoe.wait_log_ends_with(("Zoë 李", "while Ann is away 3"), ("Ann Lee", "back"))
            assert zoe.log().count(("Ann Lee", "back")) == 1

        def a_dropped_connection_reconnects_visibly_and_its_posts_arrive_once():
            # Ann's page reaches chatd through a proxy of the test's own; cutting it is a
            # network drop. While it is down, the page says "reconnecting…", Ann's posts wait
            # as "sending…", and Zoë posts too; once it is back, the page resumes and sends
            # Ann's posts under their ids: every message once at both. In a room of its own.
            room = http(base, "POST", "/v1/chatrooms", token=ann.token())["id"]
            try:
                for browser in [ann, zoe]:
                    browser.open_room(room)
                    browser.wait_connected()
                ann.say("before the drop")
                zoe.wait_log_ends_with(("Ann Lee", "before the drop"))
                proxy.cut()
                wait_for(lambda: ann.text("#connection").startswith("reconnecting…"), "reconnecting… shown")
                ann.say("during the drop 1")
                ann.say("during the drop 2")
                wait_for(lambda: ann.text("#pending").count("sending…") == 2, "Ann's posts pending")
                zoe.say("while Ann is cut off")
                wait_for(lambda: zoe.text("#pending") == "", "Zoë's post acknowledged")
                proxy.restore()
                ann.wait_connected()
                expected = [("Ann Lee", "before the drop"), ("Zoë 李", "while Ann is cut off"),
                            ("Ann Lee", "during the drop 1"), ("Ann Lee", "during the drop 2")]
                for browser in [ann, zoe]:
                    wait_for(lambda: browser.log() == expected, f"every message once at {browser.name}")
                wait_for(lambda: ann.text("#pending") == "", "Ann's posts acknowledged")
            finally:
                proxy.restore()
                for browser in [ann, zoe]:
                    browser.find(f'button[aria-label="Leave room {room}"]').click()
                    browser.find(f'#rooms button[data-room="{state["room"]}"]').click()

        def keyboard_and_screen_reader_basics():
            unlabelled = ann.driver.execute_script(
                "return [...document.querySelectorAll('input, button')].filter(e =>"
                " !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim()).map(e => e.id)")
            assert unlabelled == [], f"controls without a label: {unlabelled}"
            live = ann.driver.execute_script(
                "return ['log', 'connection', 'notice', 'presence', 'search-status'].map(id => {"
                " const e = document.getElementById(id); return e.getAttribute('role') + ' ' + (e.getAttribute('aria-live') || '') })")
            assert live == ["log polite", "status ", "alert ", "status ", "status "], live
            ann.find("#text").send_keys("sent with Enter" + Keys.ENTER)  # keyboard only
            zoe.wait_log_ends_with(("Ann Lee", "sent with Enter"))
            assert ann.driver.switch_to.active_element == ann.find("#text"), "focus stays in the message box"
            assert ann.find("#text").get_attribute("value") == ""

        def a_message_over_the_limit_is_refused_in_the_page():
            # The case before left the room and came back: its socket may still be opening.
            wait_for(lambda: ann.text("#connection") == "connected", "Ann connected before the case")
            ann.driver.execute_script(
                "document.getElementById('text').value = '李'.repeat(6000); document.getElementById('compose').requestSubmit()")
            wait_for(lambda: "not sent: longer than 16384 bytes (18000)" in ann.text("#pending"), "the refusal, with the reason")
            ann.find("#pending button").click()  # Dismiss
            wait_for(lambda: ann.text("#pending") == "", "dismissed")
            # Had the page sent it, the server would have closed the socket (1009): the next
            # post goes out on the same socket, which is still connected afterwards.
            ann.find("#text").send_keys("after the refusal" + Keys.ENTER)
            zoe.wait_log_ends_with(("Ann Lee", "after the refusal"))
            assert ann.text("#connection") == "connected", "the socket stays open"

        def presence_shows_the_other_user_join_and_leave():
            wait_for(lambda: "Zoë 李" in ann.members(), "Zoë listed at Ann")
            zoe.find(f'button[aria-label="Leave room {state["room"]}"]').click()
            wait_for(lambda: "Zoë 李" not in ann.members(), "Zoë's leave at Ann")
            assert ann.text("#member-count") == "(1)"
            zoe.open_room(state["room"])
            wait_for(lambda: "Zoë 李" in ann.members(), "Zoë's join at Ann")

        def unread_counts_for_other_rooms():
            other = state["other"] = http(base, "POST", "/v1/chatrooms", token=ann.token())["id"]
            ann.open_room(other)
            ann.wait_connected()
            ann.find(f'#rooms button[data-room="{state["room"]}"]').click()  # back; the other stays connected
            zoe.open_room(other)
            zoe.wait_connected()
            zoe.say("in the other room")
            zoe.say("again")
            badge = f'#rooms button[data-room="{other}"] .unread'
            wait_for(lambda: ann.content(badge) == "2 unread", "2 unread at Ann")
            assert ann.content(f'#rooms button[data-room="{state["room"]}"] .unread') == "", "none in the room shown"
            ann.find(f'#rooms button[data-room="{other}"]').click()
            wait_for(lambda: ann.content(badge) == "", "read once shown")
            ann.wait_log_ends_with(("Zoë 李", "in the other room"), ("Zoë 李", "again"))
            ann.find(f'#rooms button[data-room="{state["room"]}"]').click()
            zoe.find(f'#rooms button[data-room="{state["room"]}"]').click()

        def at_phone_width_the_page_fits_and_chats():
            ann.driver.set_window_size(390, 844)
            try:
                wait_for(lambda: ann.driver.execute_script("return innerWidth") < 400, "the narrow window")
                width, viewport = ann.driver.execute_script("return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
                assert width <= viewport, f"no sideways scrolling: {width} > {viewport}"
                rooms, log = (ann.find(selector).rect for selector in ["nav.rooms", "#log"])
                assert log["y"] >= rooms["y"] + rooms["height"], "one column: the room below the rooms list"
                ann.say("from a phone")
                zoe.wait_log_ends_with(("Ann Lee", "from a phone"))
            finally:
                ann.driver.set_window_size(1280, 800)

        def a_refused_join_shows_the_reason():
            ann.open_room(999999)
            wait_for(lambda: "unknown chat room 999999" in ann.text("#notice"), "the 404's reason")
            assert "Not found" in ann.text("#notice")
            # A revoked token: the next join says so in words.
            http(base, "DELETE", "/v1/tokens/current", token=zoe.token())
            room = http(base, "POST", "/v1/chatrooms", token=ann.token())["id"]
            zoe.open_room(room)
            wait_for(lambda: "Not signed in" in zoe.text("#notice"), "the 401's reason")
            assert "revoked" in zoe.text("#notice")
            ann.find(f'#rooms button[data-room="{state["room"]}"]').click()

        def take_screenshot():
            """Not a case: docs/browser-client.png, with CHAT_BROWSER_SCREENSHOT set (run.sh --screenshot)."""
            if screenshot:
                other = state["other"]
                zoe.find(f'#rooms button[data-room="{other}"]').click()
                zoe.say("see you in the other room")
                wait_for(lambda: ann.content(f'#rooms button[data-room="{other}"] .unread') == "1 unread", "Ann's unread count")
                zoe.find(f'#rooms button[data-room="{state["room"]}"]').click()
                zoe.say("wie geht's? 😊")
                ann.wait_log_ends_with(("Zoë 李", "wie geht's? 😊"))
                ann.driver.save_screenshot(screenshot)
                print("browser: screenshot in " + screenshot, flush=True)

        for case in [
            two_users_sign_up_join_one_room_and_chat_both_ways,
            a_name_with_spaces_and_non_latin_letters_works_end_to_end,
            search_finds_the_rooms_messages,
            a_reload_resumes_without_losing_or_repeating_a_message,
            a_dropped_connection_reconnects_visibly_and_its_posts_arrive_once,
            a_message_over_the_limit_is_refused_in_the_page,
            keyboard_and_screen_reader_basics,
            presence_shows_the_other_user_join_and_leave,
            unread_counts_for_other_rooms,
            take_screenshot,
            at_phone_width_the_page_fits_and_chats,
            a_refused_join_shows_the_reason,
        ]:
            name = case.__name__.replace("_", " ")
            if case is take_screenshot:
                case()
                continue
            try:
                case()
                results.append(True)
                print(f"✔ browser: {name}", flush=True)
            except Exception as error:
                results.append(False)
                print(f"✘ browser: {name}: {error}", flush=True)
                traceback.print_exc()
    except Exception:
        traceback.print_exc()
        results.append(False)
        print("✘ browser: the run could not start (logs in " + work + ")", flush=True)
    finally:
        for browser in browsers:
            browser.quit()
        if proxy:
            proxy.close()
        processes.stop_all()
    passed, failed = results.count(True), results.count(False)
    if failed:
        for log in ["chatd.log", "chromedriver.log"]:
            path = os.path.join(work, log)
            if os.path.exists(path):
                print(f"--- {log} (last lines)")
                print("".join(open(path, errors="replace").readlines()[-20:]))
    print(f"browser: {passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
