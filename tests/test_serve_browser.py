"""``goai serve`` in a real browser: headless Chromium, driven by Selenium, against a real server.

Needs Debian's ``chromium`` and ``chromium-driver`` (the README's test command
installs them) and the ``selenium`` package; skips, saying which is missing,
when they are absent. Selenium is pointed at the system chromedriver, so it
never downloads a browser or a driver.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_GAME = ROOT / "data" / "sample-game.sgf"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
# Human moves to click, in order; one the engine has taken already is skipped.
CORNERS = {"T1": ("S1", "T2"), "A1": ("B1", "A2"), "A19": ("B19", "A18"),
           "T19": ("S19", "T18")}
CLICKS = ["D4", "Q16", "D16", "Q4", "C10", "K10", "R10", "K3", "K17", "F3", "O3", "C6", "R14"]

if CHROMIUM is None or CHROMEDRIVER is None:
    pytest.skip("the real-browser test needs Debian's chromium and chromium-driver "
                "(apt-get install chromium chromium-driver)", allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver", reason="needs the selenium package")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tiny_model_path: Path) -> Iterator[str]:
    """A real ``goai serve`` on a free port with the tiny model; yields its address."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "goai", "serve", "--port", str(port),
         "--model", str(tiny_model_path), "--analysis-visits", "120"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=os.environ.copy())
    address = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            pytest.fail(f"goai serve exited: {process.stdout.read()}")
        try:
            with urllib.request.urlopen(address + "/", timeout=2):
                break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                pytest.fail("goai serve did not answer within 60 s")
            time.sleep(0.1)
    yield address
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--window-size=1100,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options,
                              service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.set_script_timeout(30)
    yield driver
    driver.quit()


def wait_until(driver, condition, timeout: float = 30):
    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(lambda _: condition())


def idle_at(driver, move_number: int) -> bool:
    body = driver.find_element(By.TAG_NAME, "body")
    return (body.get_attribute("data-busy") == "false"
            and body.get_attribute("data-move-number") == str(move_number))


def page_stones(driver) -> dict[str, str]:
    """The stones drawn on the page, read from the SVG: {vertex: "B" or "W"}."""
    return {stone.get_attribute("data-vertex"): stone.get_attribute("data-color")
            for stone in driver.find_elements(By.CSS_SELECTOR, "#board circle.stone")}


def server_state(driver) -> dict:
    """The session's game object, fetched by the page itself (its cookie is the session)."""
    text = driver.execute_async_script(
        "const done = arguments[0]; fetch('/api/state').then(r => r.text()).then(done);")
    return json.loads(text)


def test_play_ten_moves_by_clicking_then_heat_map_and_review(server: str, browser,
                                                             tmp_path: Path):
    driver = browser
    driver.get(server + "/")
    wait_until(driver, lambda: driver.find_element(By.TAG_NAME, "body")
               .get_attribute("data-ready") == "true")
    assert len(driver.find_elements(By.CSS_SELECTOR, "#board rect.hit")) == 361
    labels = [text.text for text in driver.find_elements(By.CSS_SELECTOR, "#board .coord text")]
    assert labels[:2] == ["A", "A"] and "I" not in labels and labels[2:4] == ["19", "19"]

    clicked: list[str] = []
    for vertex in CLICKS:
        if len(clicked) == 10:
            break
        if vertex in page_stones(driver):
            continue
        driver.find_element(By.CSS_SELECTOR, f'#board rect.hit[data-vertex="{vertex}"]').click()
        clicked.append(vertex)
        wait_until(driver, lambda: idle_at(driver, 2 * len(clicked)))
    assert len(clicked) == 10

    stones = page_stones(driver)
    assert all(stones[vertex] == "B" for vertex in clicked)
    assert sum(color == "W" for color in stones.values()) >= 9  # captures aside
    state = server_state(driver)
    columns = "ABCDEFGHJKLMNOPQRST"
    drawn = {f"{columns[i % 19]}{19 - i // 19}": "B" if stone == "X" else "W"
             for i, stone in enumerate(state["board"]) if stone != "."}
    assert stones == drawn
    last = driver.find_elements(By.CSS_SELECTOR, "#board circle.last")
    assert len(last) == 1 and state["last_move"] not in clicked
    status = driver.find_element(By.ID, "status").text
    assert "You (Black) to play, move 21" in status and "Captures" in status

    # An occupied point is refused with the reason, and nothing changes.
    driver.find_element(By.CSS_SELECTOR, f'#board rect.hit[data-vertex="{clicked[0]}"]').click()
    wait_until(driver, lambda: "occupied" in driver.find_element(By.ID, "message").text)
    assert page_stones(driver) == stones

    # The search's analysis (the engine searches, the model has a value head): discs on empty
    # points sized by visits, labelled with win rates, the best five listed with their visits.
    driver.find_element(By.ID, "heat-toggle").click()
    wait_until(driver, lambda: re.fullmatch(r"Search: \d+ visits; .*",
                                            driver.find_element(By.ID, "search-info").text))
    heat = driver.find_elements(By.CSS_SELECTOR, "#board .heat-point.search")
    assert heat and not {disc.get_attribute("data-vertex") for disc in heat} & set(stones)
    items = driver.find_elements(By.CSS_SELECTOR, "#candidates li")
    assert len(items) == 5
    assert all(re.search(r"\d+ visits, win [\d.]+%, [+−][\d.]+ pts", item.text) for item in items)
    # The tiny model has a score head: the score lead goes beside the win rate.
    wait_until(driver, lambda: re.fullmatch(
        r"Black's win rate [\d.]+% · ((Black|White) leads by [\d.]+ points|the score is even) "
        r"\(search\)\.", driver.find_element(By.ID, "outlook").text))
    assert driver.find_elements(By.CSS_SELECTOR, "#graph path.graph-line")
    # Hovering a candidate draws its principal variation: numbered translucent stones.
    first = items[0]
    analysis = json.loads(driver.execute_async_script(
        "const done = arguments[0]; fetch('/api/analysis').then(r => r.text()).then(done);"))
    pv = next(c["pv"] for c in analysis["candidates"] if c["move"] == first.get_attribute(
        "data-vertex"))
    webdriver.ActionChains(driver).move_to_element(first).perform()
    wait_until(driver, lambda: driver.find_elements(By.CSS_SELECTOR, "#board circle.ghost"))
    ghosts = driver.find_elements(By.CSS_SELECTOR, "#board circle.ghost")
    assert [g.get_attribute("data-number") for g in ghosts] == [
        str(n + 1) for n, vertex in enumerate(pv) if vertex != "pass"]
    driver.save_screenshot(str(tmp_path / "serve-game.png"))
    assert (tmp_path / "serve-game.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    driver.find_element(By.ID, "heat-toggle").click()
    wait_until(driver, lambda: not driver.find_elements(By.CSS_SELECTOR, "#board .heat-point"))

    # Keyboard play: the move box takes a coordinate.
    # A corner with empty neighbours: a searching engine cannot capture it at once. The
    # untrained engine likes the edges and may have spoilt every corner: then any point
    # whose neighbours are empty.
    stones = page_stones(driver)
    columns = "ABCDEFGHJKLMNOPQRST"
    anywhere = {f"{columns[c]}{r}": tuple(f"{columns[c + dc]}{r + dr}"
                                          for dc, dr in ((1, 0), (-1, 0), (0, 1), (0, -1))
                                          if 0 <= c + dc < 19 and 1 <= r + dr <= 19)
                for c in range(19) for r in range(1, 20)}
    corner = next(corner for corner, sides in [*CORNERS.items(), *anywhere.items()]
                  if not {corner, *sides} & set(stones))
    driver.find_element(By.ID, "move-input").send_keys(f"{corner}\n")
    wait_until(driver, lambda: idle_at(driver, 22))
    assert page_stones(driver)[corner] == "B"

    # Review: upload the sample game and step into it with the arrow keys.
    driver.find_element(By.ID, "mode-review").click()
    driver.find_element(By.ID, "review-file").send_keys(str(SAMPLE_GAME))
    wait_until(driver, lambda: driver.find_element(By.ID, "review-body").is_displayed(), 120)
    body = driver.find_element(By.TAG_NAME, "body")
    for _ in range(3):
        body.send_keys("\ue014")  # the right arrow key
    wait_until(driver, lambda: body.get_attribute("data-move-number") == "3")
    assert len(page_stones(driver)) == 3
    assert "Move 3" in driver.find_element(By.ID, "review-move").text
    # Labels A, B, C: the model's top 3 for the next move, except a pass (no point to mark).
    letters = {label.text for label in driver.find_elements(By.CSS_SELECTOR, "#board .label")}
    listed = re.findall(r"([ABC]) (\S+) [\d.]+%",
                        driver.find_element(By.ID, "review-next-text").text)
    assert len(listed) == 3 and letters == {letter for letter, move in listed if move != "pass"}
    assert len(driver.find_elements(By.CSS_SELECTOR, "#least-likely li")) == 5
    assert len(driver.find_elements(By.CSS_SELECTOR, "#turning-points li")) >= 1
    driver.save_screenshot(str(tmp_path / "serve-review.png"))

    # Phone width: the board fits without sideways scrolling.
    driver.set_window_size(390, 844)
    wait_until(driver, lambda: driver.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth"))
    width = driver.execute_script("return document.getElementById('board')"
                                  ".getBoundingClientRect().width")
    assert 300 <= width <= 390
    driver.save_screenshot(str(tmp_path / "serve-phone.png"))
    driver.set_window_size(1100, 1000)


# ----------------------------------------------------------------- territory and the count


def test_a_new_game_at_a_level_shows_it_and_ends_with_where_the_human_lost(server: str, browser):
    driver = browser
    driver.get(server + "/")
    wait_until(driver, lambda: driver.find_element(By.TAG_NAME, "body")
               .get_attribute("data-ready") == "true")
    Select(driver.find_element(By.ID, "new-level")).select_by_value("1")
    Select(driver.find_element(By.ID, "new-color")).select_by_value("white")
    driver.find_element(By.CSS_SELECTOR, "#new-form button[type=submit]").click()
    wait_until(driver, lambda: idle_at(driver, 1))  # the engine (Black) opened
    state = server_state(driver)
    assert state["level"] == "1" and state["engine_name"] == "goai (tiny, level 1)"
    assert "goai (tiny, level 1)" in driver.find_element(By.ID, "status").text
    driver.find_element(By.ID, "resign").click()
    wait_until(driver, lambda: "Game over" in driver.find_element(By.ID, "status").text)
    lessons = driver.find_element(By.ID, "lessons")
    # No move of the human's yet: nothing to show, and the paragraph stays hidden.
    assert not lessons.is_displayed() and server_state(driver)["lessons"] == []
    record = driver.execute_async_script(
        "const done = arguments[0]; fetch('/api/game.sgf').then(r => r.text()).then(done);")
    assert "PB[goai (tiny, level 1)]" in record and "PW[human]" in record


class TerritoryPolicy:
    """A fake network with ownership and score heads (no value head: no search): White
    walls the M column, then passes; its map gives columns A-J to Black and M-T to White
    (surely, 0.9), K and L to nobody; Black leads by 5.5 points. Said from the side to move's
    view, as a network says it."""

    has_value_head = False
    has_ownership_head = True
    has_score_head = True

    def analyze(self, state, *, symmetries=None):
        from dataclasses import replace

        import numpy as np
        from fakes import analysis

        from goai.rules.coords import move_from_gtp

        probabilities = np.zeros(362)
        wall = [move_from_gtp(f"M{row}", 19) for row in range(1, 20)]
        empty = [point for point in wall if state.board.stones[point] == 0]
        probabilities[empty[0] if empty else 361] = 1.0
        black = np.zeros(361)
        for point in range(361):
            column = point % 19
            black[point] = 0.9 if column < 9 else -0.9 if column > 10 else 0.0
        sign = 1 if state.to_play == 1 else -1
        return replace(analysis(state, probabilities, 0.1 * sign), ownership=sign * black,
                       score=sign * 5.5)

    def move_probabilities(self, state):
        return self.analyze(state).probabilities


@pytest.fixture
def territory_server() -> Iterator[str]:
    """A real uvicorn in a thread serving the app around ``TerritoryPolicy``."""
    import threading

    import uvicorn

    from goai.serve.app import ServeConfig, create_app
    from goai.serve.model import SessionModel

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(
        create_app(SessionModel(TerritoryPolicy(), name="territory"), ServeConfig(port=port)),
        host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)


def test_territory_overlay_score_lead_and_the_counted_end(territory_server: str, browser,
                                                          tmp_path: Path):
    driver = browser
    driver.set_window_size(1100, 1000)
    driver.get(territory_server + "/")
    wait_until(driver, lambda: driver.find_element(By.TAG_NAME, "body")
               .get_attribute("data-ready") == "true")
    # Black walls the J column against White's M wall, then invades at R3.
    driver.execute_async_script("""
        const done = arguments[0];
        const post = (path, body) => fetch(path, {method: "POST",
          headers: {"content-type": "application/json"}, body: JSON.stringify(body || {})});
        (async () => {
          for (const move of [...Array(19).keys()].map((k) => `J${k + 1}`).concat(["R3"])) {
            await post("/api/play", {move});
            await post("/api/genmove");
          }
        })().then(done);""")
    driver.refresh()
    wait_until(driver, lambda: idle_at(driver, 40))
    assert not driver.find_element(By.ID, "territory-key").is_displayed()
    driver.find_element(By.ID, "territory-toggle").click()
    wait_until(driver, lambda: driver.find_elements(By.CSS_SELECTOR, "#board rect.own"))
    assert driver.find_element(By.ID, "territory-key").is_displayed()
    squares = driver.find_elements(By.CSS_SELECTOR, "#board rect.own")
    colours = {square.get_attribute("data-vertex"): square.get_attribute("class")
               for square in squares}
    assert colours["A1"] == "own black" and colours["T19"] == "own white"
    assert colours["R3"] == "own white"  # a white square on Black's stone: dead
    assert not {"J5", "K10", "L10"} & set(colours)  # an own stone; nobody's points
    wait_until(driver, lambda: "leads" in driver.find_element(By.ID, "outlook").text)
    assert driver.find_element(By.ID, "outlook").text == (
        "Black's win rate 55.0% · Black leads by 5.5 points (network).")
    driver.save_screenshot(str(tmp_path / "serve-territory.png"))

    # Pass: the engine has passed already, so the game ends and is counted; R3 is dead.
    driver.find_element(By.ID, "pass").click()
    wait_until(driver, lambda: "Game over" in driver.find_element(By.ID, "status").text)
    marks = driver.find_elements(By.CSS_SELECTOR, "#board line.dead-mark")
    assert {mark.get_attribute("data-dead") for mark in marks} == {"R3"}
    assert driver.find_elements(By.CSS_SELECTOR, '#board circle.stone.dead[data-vertex="R3"]')
    state = server_state(driver)
    # Black: A-H and the J wall, 171; White: N-T and the M wall, 152; komi 7.5.
    assert state["count"]["dead"] == ["R3"] and state["result"] == "B+11.5"
    assert state["result"] in driver.find_element(By.ID, "status").text
    assert driver.find_element(By.ID, "outlook").text.startswith(
        "Counted with 1 dead stone (crossed) taken off, judged by the network's ownership map")
    assert not driver.find_element(By.ID, "territory-key").is_displayed()
    driver.save_screenshot(str(tmp_path / "serve-count.png"))
