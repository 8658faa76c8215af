"""``goai serve``'s JSON/WebSocket API through Starlette's test client and a live uvicorn.

A scripted policy (``ScriptedPolicy``: the engine plays the first empty point
of its script, then passes) makes every engine move known, so games can be
steered into a ko, a suicide or a known final score; the tiny untrained model
plays a whole game where only consistency can be checked.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from boards import move
from fakes import FakeTime, analysis, blunder_value

pytest.importorskip("starlette")
httpx = pytest.importorskip("httpx")
with warnings.catch_warnings():  # Starlette >= 1.10 prefers httpx2 but works with httpx
    warnings.filterwarnings("ignore", message="Using `httpx`")
    from starlette.testclient import TestClient

from goai import cli  # noqa: E402
from goai.nn.policy import Policy  # noqa: E402
from goai.play.levels import LEVELS  # noqa: E402
from goai.play.player import Player, PlayerConfig  # noqa: E402
from goai.records.record import GameRecord  # noqa: E402
from goai.records.sgf import parse_sgf  # noqa: E402
from goai.rules.board import EMPTY  # noqa: E402
from goai.rules.coords import PASS_INDEX  # noqa: E402
from goai.rules.game import GameState  # noqa: E402
from goai.rules.status import estimated_score  # noqa: E402
from goai.search import tree as search_module  # noqa: E402
from goai.serve.app import ServeConfig, create_app, host_name, uvicorn_config  # noqa: E402
from goai.serve.model import ANALYSIS_VISITS, SessionModel  # noqa: E402
from goai.serve.model import vertex as to_vertex  # noqa: E402

SAMPLE_GAME = Path(__file__).resolve().parents[1] / "data" / "sample-game.sgf"
JSON_BODY = {"content-type": "application/json"}  # what the page sends with every POST
SGF_BODY = {"content-type": "application/x-go-sgf"}  # ... and with an upload to review


class ScriptedPolicy:
    """All probability on the first point of ``script`` that is empty, else on pass.

    ``gate``, when given, is waited on inside every evaluation: a slow engine.
    """

    has_value_head = False

    def __init__(self, *script: str, gate: threading.Event | None = None) -> None:
        self.script = [move(vertex, 19) for vertex in script]
        self.gate = gate
        self.calls = 0

    def analyze(self, state, *, symmetries=None):
        self.calls += 1
        if self.gate is not None:
            assert self.gate.wait(10), "the test never opened the gate"
        probabilities = np.zeros(362)
        empty = [point for point in self.script if state.board.stones[point] == EMPTY
                 and state.is_legal(point)]
        probabilities[empty[0] if empty else PASS_INDEX] = 1.0
        return analysis(state, probabilities, None)

    def move_probabilities(self, state):
        return self.analyze(state).probabilities

    def value(self, state):
        return None


def client_for(policy, *, engine: dict | None = None, **limits) -> TestClient:
    """A test client of an app around ``SessionModel(policy, **engine)``; ``limits``:
    ServeConfig's."""
    config = ServeConfig(allowed_hosts=("testserver",), **limits)
    return TestClient(create_app(SessionModel(policy, name="scripted", **(engine or {})), config))


def play(client: TestClient, *vertices: str) -> dict:
    """Each human move followed by the engine's reply; the last game object."""
    state = {}
    for vertex in vertices:
        response = client.post("/api/play", json={"move": vertex})
        assert response.status_code == 200, response.json()
        state = client.post("/api/genmove", json={}).json()
    return state


def stones(state: dict) -> dict[str, str]:
    """The game object's board as {vertex: "X" or "O"}."""
    columns = "ABCDEFGHJKLMNOPQRST"
    return {f"{columns[i % 19]}{19 - i // 19}": stone
            for i, stone in enumerate(state["board"]) if stone != "."}


@pytest.fixture(scope="module")
def tiny_policy(tiny_model_path: Path) -> Policy:
    return Policy(tiny_model_path)


# ----------------------------------------------------------------- the page


def test_the_page_and_its_files_are_served_with_safe_headers():
    client = client_for(ScriptedPolicy())
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'src="/static/app.js"' in page.text and "http" not in page.text.split("<body>")[0]
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for name in ("app.js", "board.js", "graph.js", "style.css"):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200 and response.text
    assert "import" in client.get("/static/app.js").text  # a module, no bundle


@pytest.mark.parametrize("path", ["/static/serve.py", "/static/..%2Fserve.py",
                                  "/static/%2Fetc%2Fpasswd", "/api/nothing"])
def test_no_file_path_comes_from_the_client(path: str):
    response = client_for(ScriptedPolicy()).get(path)
    assert response.status_code == 404
    assert "error" in response.json() and "Traceback" not in response.text


def test_other_host_names_are_refused_on_loopback():
    app = create_app(SessionModel(ScriptedPolicy()), ServeConfig())  # loopback: no "testserver"
    assert TestClient(app).get("/api/state").status_code == 400
    assert TestClient(app, base_url="http://localhost:8000").get("/api/state").status_code == 200


@pytest.mark.parametrize("header, name", [
    ("[::1]:8000", "::1"), ("[::1]", "::1"), ("Localhost:80", "localhost"),
    ("127.0.0.2", "127.0.0.2"), ("evil.example:8000", "evil.example"),
    ("::1", None), ("[::1", None), ("[::1]x", None), ("host:port", None), ("", None),
])
def test_host_headers_are_read_with_ipv6_brackets(header: str, name: str | None):
    assert host_name(header) == name


@pytest.mark.parametrize("host", ["::1", "127.0.0.1", "127.0.0.2", "localhost"])
def test_any_loopback_bind_keeps_the_host_check_and_takes_loopback_names(host: str):
    # Before: --host ::1 refused every request (400, "[::1]:8000" cut at its first colon),
    # and --host 127.0.0.2 counted as exposed, which turned the Host check off.
    config = ServeConfig(host=host)
    assert config.is_loopback
    for header in ("[::1]:8000", "127.0.0.1:8000", "127.0.0.2", "localhost:8000"):
        assert config.accepts_host(header), header
    for header in ("evil.example", "evil.example:8000", "[::2]:8000", "10.0.0.1"):
        assert not config.accepts_host(header), header
    app = create_app(SessionModel(ScriptedPolicy()), config)
    for base in ("http://[::1]:8000", "http://127.0.0.2:8000"):
        assert TestClient(app, base_url=base).get("/api/state").status_code == 200
    assert TestClient(app, base_url="http://evil.example").get("/api/state").status_code == 400


def test_only_a_non_loopback_bind_accepts_any_host():
    for host in ("0.0.0.0", "::", "192.168.1.5"):
        config = ServeConfig(host=host)
        assert not config.is_loopback and config.accepts_host("evil.example")


# ----------------------------------------------------------------- a game


def test_a_game_to_the_end_is_scored_as_goai_play_scores_it():
    # The engine passes throughout; Black's wall on the K line is alive and owns the board.
    client = client_for(ScriptedPolicy())
    state = client.get("/api/state").json()
    assert (state["human"], state["to_play"], state["move_number"]) == ("B", "B", 0)
    for row in range(1, 20, 2):
        state = play(client, f"K{row}")
        assert state["last_move"] == "pass" and not state["over"]
    response = client.post("/api/play", json={"move": "pass"})
    state = response.json()
    assert state["over"] and state["result"] == "B+353.5"
    assert state["result_text"].startswith("B+353.5 by area with komi 7.5, 0 stones estimated")
    assert not state["engine_to_play"]
    refused = client.post("/api/play", json={"move": "A1"})
    assert refused.status_code == 400 and refused.json()["reason"] == "game-over"


def test_a_game_with_the_tiny_model_ends_with_the_judged_area_score(tiny_policy: Policy):
    """The tiny model has an ownership head: the count takes off the stones its map gives
    to the other side (untrained, it may call any of them dead), and says so."""
    client = client_for(tiny_policy)
    state = play(client, "D4", "Q16", "D16", "Q4", "K10")
    assert state["move_number"] == 10 and len(stones(state)) >= 8
    for _ in range(100):
        if state["over"]:
            break
        assert client.post("/api/play", json={"move": "pass"}).status_code == 200
        state = client.get("/api/state").json()
        if not state["over"]:
            state = client.post("/api/genmove", json={}).json()
    assert state["over"]
    record = next(parse_sgf(client.get("/api/game.sgf").content))
    assert isinstance(record, GameRecord) and record.result == state["result"]
    final = record.to_state()
    judged = Player(tiny_policy).stone_status(final)
    margin = estimated_score(final, set(judged.dead))
    assert state["result"] == (f"B+{margin:g}" if margin > 0 else f"W+{-margin:g}")
    count = state["count"]
    assert count["judge"] == "ownership" and len(count["area"]) == 361
    assert count["dead"] == [to_vertex(point) for point in sorted(judged.dead)]
    assert "by the ownership map" in state["result_text"]
    black = count["area"].count("X") - count["area"].count("O")
    assert black - state["komi"] == margin  # the area string is the count


@pytest.mark.parametrize("script, moves, refused, reason", [
    # White (the engine) walls A1 off: A1 is suicide for Black.
    (("A2", "B1"), ("K10", "K11"), "A1", "suicide"),
    # White takes E5 from the ko; Black may not take back at once.
    (("E6", "D5", "E4", "F5"), ("F6", "E5", "G5", "F4"), "E5", "ko"),
    ((), ("D4",), "D4", "occupied"),
    ((), (), "Z99", "not-a-move"),
    ((), (), "I5", "not-a-move"),
    ((), (), "D04", "not-a-move"),  # was D4: GTP's vertices have no leading zero
    ((), (), "D\u0664", "not-a-move"),  # nor an Arabic-Indic four
])
def test_illegal_moves_are_refused_with_the_reason(script, moves, refused, reason):
    client = client_for(ScriptedPolicy(*script))
    before = play(client, *moves) or client.get("/api/state").json()
    response = client.post("/api/play", json={"move": refused})
    assert response.status_code == 400
    assert response.json()["reason"] == reason
    assert reason.split("-")[0] in response.json()["error"] or reason == "not-a-move"
    assert client.get("/api/state").json()["board"] == before["board"]  # nothing changed


def test_the_engine_moves_only_in_its_turn_and_the_human_only_in_theirs():
    client = client_for(ScriptedPolicy("Q16"))
    assert client.post("/api/genmove", json={}).json()["reason"] == "not-engine-turn"
    client.post("/api/play", json={"move": "D4"})
    assert client.post("/api/play", json={"move": "C3"}).json()["reason"] == "not-your-turn"
    assert client.post("/api/genmove", json={}).json()["last_move"] == "Q16"


def test_undo_takes_back_the_human_move_and_the_reply_and_reopens_the_game():
    client = client_for(ScriptedPolicy("Q16", "Q4"))
    assert client.post("/api/undo", json={}).json()["reason"] == "no-undo"
    play(client, "D4", "D16")
    state = client.post("/api/undo", json={}).json()
    assert state["moves"] == ["B D4", "W Q16"] and state["to_play"] == "B"
    assert client.post("/api/resign", json={}).json()["result"] == "W+R"
    state = client.post("/api/undo", json={}).json()
    assert not state["over"] and state["moves"] == [] and state["board"] == "." * 361


def test_new_game_with_colour_handicap_and_komi():
    client = client_for(ScriptedPolicy("Q16", "D4"))
    state = client.post("/api/new", json={"color": "white", "komi": 6.5}).json()
    assert (state["human"], state["engine_to_play"], state["komi"]) == ("W", True, 6.5)
    assert client.post("/api/genmove", json={}).json()["moves"] == ["B Q16"]
    state = client.post("/api/new", json={"color": "black", "handicap": 4, "komi": 0.5}).json()
    assert sorted(stones(state)) == ["D16", "D4", "Q16", "Q4"] and state["to_play"] == "W"
    assert state["engine_to_play"] and state["handicap"] == 4


def test_the_new_game_s_level_plays_is_shown_and_names_the_engine_in_the_sgf():
    client = client_for(ScriptedPolicy("Q16", "D4", "Q4"))
    state = client.post("/api/new", json={"color": "white", "level": "2"}).json()
    assert state["level"] == "2" and state["engine_name"] == "scripted (level 2)"
    client.post("/api/genmove", json={})
    record = next(parse_sgf(client.get("/api/game.sgf").content))
    assert (record.black_name, record.white_name) == ("scripted (level 2)", "human")
    # Handicap at a level; and without one the server's own setting, named as before.
    state = client.post("/api/new", json={"handicap": 3, "level": "1"}).json()
    assert state["engine_to_play"] and state["engine_name"] == "scripted (level 1)"
    assert client.post("/api/genmove", json={}).status_code == 200
    state = client.post("/api/new", json={}).json()
    assert state["level"] is None and state["engine_name"] == "scripted"


def test_the_page_s_level_chooser_offers_the_ladder():
    page = client_for(ScriptedPolicy()).get("/").text
    chooser = page.split('id="new-level"', 1)[1].split("</select>", 1)[0]
    assert re.findall(r'<option value="([^"]+)"', chooser) == list(LEVELS)


@pytest.mark.parametrize("body, message", [
    ({"level": "9"}, "level must be one of"),
    ({"level": 2}, "level must be a level's name"),
    ({"color": "red"}, "color must be"),
    ({"color": ["black"]}, "color must be"),
    ({"handicap": 1}, "handicap must be 0 or 2 to 9"),
    ({"handicap": "4"}, "whole number"),
    ({"komi": "six"}, "komi must be a number"),
    ({"komi": 7.3}, "multiple of 0.5"),
    ({"komi": 1e9}, "within"),
    ([1, 2], "JSON object"),
    ("{not json", "not JSON"),
])
def test_bad_new_game_requests_get_400_with_a_message(body, message):
    client = client_for(ScriptedPolicy())
    content = body if isinstance(body, str) else json.dumps(body)
    response = client.post("/api/new", headers=JSON_BODY, content=content)
    assert response.status_code == 400 and message in response.json()["error"]


def test_oversized_json_is_refused_unread():
    response = client_for(ScriptedPolicy()).post("/api/play", headers=JSON_BODY,
                                                          content=b"{" + b" " * 10_000)
    assert response.status_code == 413 and "limit" in response.json()["error"]


# ----------------------------------------------------------------- analysis


def test_analysis_by_http_and_websocket_carries_priors_and_search_fields():
    client = client_for(ScriptedPolicy("Q16", "D4"))
    analysis = client.get("/api/analysis").json()
    assert analysis["move_number"] == 0 and analysis["to_play"] == "B" and analysis["final"]
    assert len(analysis["priors"]) == 361 and analysis["priors"][move("Q16", 19)] == 1.0
    assert analysis["candidates"] == [{"move": "Q16", "prior": 1.0, "visits": None,
                                       "winrate": None, "score_lead": None, "pv": []}]
    assert analysis["value"] is None and analysis["search"] is False
    # No ownership or score head: nothing is made up.
    assert analysis["ownership"] is None and analysis["black_score_lead"] is None
    with client.websocket_connect("/api/ws") as socket_:
        socket_.send_text("not json")
        assert socket_.receive_json()["type"] == "error"
        socket_.send_json({"op": "explode"})
        assert "unknown op" in socket_.receive_json()["error"]
        socket_.send_json({"op": "analyze"})
        assert socket_.receive_json() == analysis


def test_a_websocket_without_a_session_or_from_another_origin_is_closed():
    client = client_for(ScriptedPolicy())
    with pytest.raises(Exception) as closed, client.websocket_connect("/api/ws"):
        pass
    assert getattr(closed.value, "code", None) == 4401
    client.get("/api/state")
    with pytest.raises(Exception) as closed, client.websocket_connect(
            "/api/ws", headers={"origin": "http://evil.example"}):
        pass
    assert getattr(closed.value, "code", None) == 4403


def test_win_rates_are_black_s_along_the_game(tiny_policy: Policy):
    client = client_for(tiny_policy, engine={"analysis_visits": 1})  # the value head's own
    play(client, "D4")
    client.get("/api/analysis")
    rates = client.get("/api/state").json()["winrates"]
    assert len(rates) == 3 and all(0 <= rate <= 1 for rate in rates[1:])
    black_to_move = (tiny_policy.value(GameRecord.to_state(
        next(parse_sgf(client.get("/api/game.sgf").content)))) + 1) / 2
    assert rates[2] == pytest.approx(black_to_move, abs=1e-6)


class BlunderPolicy(ScriptedPolicy):
    """``ScriptedPolicy`` with a value head: Black wins 80% until a black stone stands on
    C3, 20% after (said from the side to move's view)."""

    has_value_head = True

    def analyze(self, state, *, symmetries=None):
        value = blunder_value(state, move("C3", 19))
        return replace(super().analyze(state), value=value)


def test_the_game_s_end_shows_where_the_human_lost_most():
    client = client_for(BlunderPolicy("Q16", "D16", "Q4"), engine={"analysis_visits": 1})
    client.get("/api/analysis")
    for vertex_ in ("D4", "C3", "E5"):
        state = play(client, vertex_)
        client.get("/api/analysis")
        assert state["lessons"] == []  # not before the end
    state = client.post("/api/resign", json={}).json()
    assert state["lessons"] == [{"number": 3, "move": "B C3", "why": "Black's win rate -60%"}]


class OwnershipPolicy(ScriptedPolicy):
    """``ScriptedPolicy`` with ownership and score heads: Black owns A19 and leads by 3.5,
    said from the side to move's view as a network says it."""

    has_ownership_head = True
    has_score_head = True

    def analyze(self, state, *, symmetries=None):
        from dataclasses import replace

        black = np.zeros(361)
        black[0] = 1.0
        sign = 1 if state.to_play == 1 else -1
        return replace(super().analyze(state), ownership=sign * black, score=sign * 3.5)


def test_ownership_and_score_lead_are_black_s_whoever_is_to_move():
    client = client_for(OwnershipPolicy("Q16", "D4"))
    first = client.get("/api/analysis").json()  # Black to move
    state = play(client, "C3")  # the engine answers Q16: Black to move again
    client.post("/api/play", json={"move": "R3"})  # now White (the engine) is to move
    second = client.get("/api/analysis").json()
    assert (first["to_play"], second["to_play"]) == ("B", "W")
    for seen in (first, second):
        assert len(seen["ownership"]) == 361
        assert seen["ownership"][0] == 1.0 and set(seen["ownership"][1:]) == {0.0}
        assert seen["black_score_lead"] == 3.5
    state = client.get("/api/state").json()
    assert state["score_leads"][0] == 3.5 and state["score_leads"][-1] == 3.5
    assert len(state["score_leads"]) == len(state["winrates"]) == 4


class WhiteMapPolicy(ScriptedPolicy):
    """Passes always; its ownership map gives every point to White (surely)."""

    has_ownership_head = True
    has_score_head = False

    def analyze(self, state, *, symmetries=None):
        from dataclasses import replace

        sign = 1 if state.to_play == 1 else -1
        return replace(super().analyze(state), ownership=np.full(361, -0.9 * sign))


def test_the_end_of_game_count_marks_the_stones_the_map_calls_dead():
    client = client_for(WhiteMapPolicy())
    play(client, "D4", "Q16")  # the engine passes after each
    state = client.post("/api/play", json={"move": "pass"}).json()
    assert state["over"] and state["result"] == "W+7.5"
    assert state["count"]["judge"] == "ownership"
    assert state["count"]["dead"] == ["Q16", "D4"] and state["count"]["seki"] == []
    assert state["count"]["area"] == "." * 361  # the empty board is nobody's
    assert "2 stones dead by the ownership map" in state["result_text"]
    undone = client.post("/api/undo", headers=JSON_BODY).json()
    assert undone["count"] is None and not undone["over"]


def test_the_tiny_model_s_heads_reach_the_page_and_a_value_model_gives_them(
        tiny_model_path: Path, tiny_policy: Policy):
    client = client_for(tiny_policy, engine={"analysis_visits": 16, "seed": 1})
    analysis = client.get("/api/analysis").json()
    assert analysis["search"] and len(analysis["ownership"]) == 361
    assert all(-1 <= value <= 1 for value in analysis["ownership"])
    assert isinstance(analysis["black_score_lead"], float)
    visited = [c for c in analysis["candidates"] if c["visits"]]
    assert visited and all(isinstance(c["score_lead"], float) for c in visited)
    # The old small model alone: no heads, nothing shown; with the tiny one as value model,
    # the search's values, scores and the map are the tiny model's.
    old = Policy("small")
    plain = client_for(old, engine={"analysis_visits": 8}).get("/api/analysis").json()
    assert plain["ownership"] is None and plain["black_score_lead"] is None
    split = client_for(old, engine={"analysis_visits": 8, "seed": 1,
                                    "load_value": lambda: tiny_policy})
    both = split.get("/api/analysis").json()
    assert len(both["ownership"]) == 361 and both["black_score_lead"] is not None
    assert both["ownership"] == analysis["ownership"]  # the same map: the tiny model's
    state = split.post("/api/play", json={"move": "D4"}).json()
    assert state["engine_to_play"]
    assert split.post("/api/genmove", headers=JSON_BODY).json()["move_number"] == 2


def test_goai_serve_loads_a_value_model_and_refuses_one_that_cannot_serve(
        tiny_model_path: Path, tmp_path: Path, monkeypatch):
    engines = []
    monkeypatch.setattr("goai.serve.app.run_server", lambda engine, config, announce:
                        engines.append(engine))
    cli.main(["serve", "--model", str(tiny_model_path), "--value-model", str(tiny_model_path)])
    (engine,) = engines
    assert engine.value_policy is not None
    done = threading.Event()
    errors = []
    engine.start_loading(lambda error: (errors.append(error), done.set()))
    assert done.wait(20) and errors == [None]
    assert engine.value_policy.has_ownership_head


# ----------------------------------------------------------------- search


class SlowEvaluator:
    """A search evaluator: uniform priors over the legal moves, value 0, ``delay`` seconds a
    batch (or ``cost`` seconds of a ``FakeTime`` clock). ``calls`` counts the batches."""

    def __init__(self, delay: float = 0.0, clock: FakeTime | None = None,
                 cost: float = 0.0) -> None:
        self.delay = delay
        self.clock, self.cost = clock, cost
        self.calls = 0

    def evaluate(self, states):
        self.calls += 1
        if self.clock is not None:
            self.clock.advance(self.cost)
        time.sleep(self.delay)
        masks = np.array([state.legal_mask() for state in states], dtype=float)
        return masks / masks.sum(axis=1, keepdims=True), np.zeros(len(states))


def replay(moves: list[str]) -> GameState:
    """The position after the game object's ``moves`` ("B D4" ...)."""
    state = GameState(19)
    for entry in moves:
        state.play(move(entry.split()[1], 19))
    return state


def check_search_analysis(analysis: dict, state: GameState, cap: int) -> None:
    """Visits within the root's, win rates in [0, 1], PVs legal from ``state``, search order."""
    assert analysis["search"] is True and analysis["move_number"] == len(state.history)
    assert 1 < analysis["visits"] <= cap
    candidates = analysis["candidates"]
    assert candidates and sum(c["visits"] for c in candidates) <= analysis["visits"] - 1
    visits = [c["visits"] for c in candidates]
    assert visits == sorted(visits, reverse=True)  # the search's order: most visited first
    assert 0 <= analysis["black_winrate"] <= 1
    for candidate in candidates:
        assert candidate["winrate"] is None if candidate["visits"] == 0 else (
            0 <= candidate["winrate"] <= 1)
        assert (candidate["pv"][:1] == [candidate["move"]]) == (candidate["visits"] > 0)
        position = state.copy()
        for vertex in candidate["pv"]:
            point = move(vertex, 19)
            assert position.is_legal(point), (candidate, vertex)
            position.play(point)


def test_a_searching_engine_moves_and_analyses_by_search(tiny_policy: Policy):
    client = client_for(tiny_policy, engine={"config": PlayerConfig(visits=24),
                                             "analysis_visits": 40})
    game = play(client, "D4")
    # The engine's move was chosen by a search of 24 visits: its analysis (the position before
    # it) is kept for the win-rate graph, as the root's win rate.
    assert len(game["winrates"]) == 3 and 0 <= game["winrates"][1] <= 1
    analysis = client.get("/api/analysis").json()
    check_search_analysis(analysis, replay(game["moves"]), 40)
    assert client.get("/api/analysis").json() == analysis  # kept for the position
    assert client.get("/api/state").json()["winrates"][2] == analysis["black_winrate"]


def test_the_engine_s_move_is_its_search_s_and_keeps_the_tree(tiny_policy: Policy):
    engine = SessionModel(tiny_policy, config=PlayerConfig(visits=24), seed=1)
    game, state = engine.new_game(), GameState(19)
    chosen = engine.choose(game, state)
    check_search_analysis(chosen.analysis.as_json(), state, 24)
    assert chosen.move == chosen.analysis.candidates[0].move  # the most visited
    state.play(chosen.move)
    state.play(move("D4", 19) if state.is_legal(move("D4", 19)) else move("Q16", 19))
    again = engine.choose(game, state)
    assert again.analysis.visits == 24 and game.search.root_visits == 24  # reused counts in


def test_visits_1_plays_and_analyses_the_raw_policy(tiny_policy: Policy):
    engine = SessionModel(tiny_policy, config=PlayerConfig(visits=1), analysis_visits=1)
    state = GameState(19)
    chosen = engine.choose(engine.new_game(), state)
    raw = tiny_policy.analyze(state)
    assert not chosen.analysis.search and chosen.analysis.visits is None
    assert chosen.move == int(np.argmax(raw.probabilities[:361]))
    assert np.allclose(chosen.analysis.priors, raw.probabilities)
    analysis = engine.analyze(state).as_json()
    assert analysis["search"] is False and analysis["candidates"][0]["visits"] is None


def test_think_seconds_caps_the_engine_s_search_and_the_analysis(tiny_policy: Policy,
                                                                  monkeypatch):
    # On the search's fake clock, which only the evaluator moves (0.05 s a batch): a wall
    # clock bound here failed on a busy machine.
    clock = FakeTime()
    monkeypatch.setattr(search_module, "time", clock)
    slow = SlowEvaluator(clock=clock, cost=0.05)
    engine = SessionModel(tiny_policy, config=PlayerConfig(visits=100_000), analysis_visits=100_000,
                    think_seconds=0.3, make_evaluator=lambda policy, seed: slow)
    chosen = engine.choose(engine.new_game(), GameState(19))
    after_move = clock.now
    analysis = engine.analyze(GameState(19))
    # Each search stopped on its time cap, far below its visit cap: 0.3 s at 0.05 s a batch.
    assert chosen.analysis.search and analysis.search
    assert chosen.analysis.visits < 1000 and analysis.visits < 1000
    assert after_move - 1000.0 <= 0.3 and clock.now - after_move <= 0.3
    assert 2 <= slow.calls <= 2 * (0.3 / 0.05 + 1)


def test_the_websocket_streams_snapshots_then_the_final_analysis(tiny_policy: Policy,
                                                                 monkeypatch):
    monkeypatch.setattr("goai.serve.model.SNAPSHOT_SECONDS", 0.0)  # after every batch
    client = client_for(tiny_policy, engine={"analysis_visits": 64})
    client.get("/api/state")
    with client.websocket_connect("/api/ws") as socket_:
        socket_.send_json({"op": "analyze"})
        messages = [socket_.receive_json()]
        while not messages[-1]["final"]:
            messages.append(socket_.receive_json())
    assert len(messages) >= 3 and all(not m["final"] for m in messages[:-1])
    visits = [m["visits"] for m in messages]
    assert visits == sorted(visits) and visits[-1] == 64
    check_search_analysis(messages[-1], GameState(19), 64)
    assert client.get("/api/analysis").json() == messages[-1]  # the final one is kept


def wait_until(condition, message: str, seconds: float = 20) -> None:
    """Poll ``condition`` until it holds; fail with ``message`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.01)


def unbounded_analysis(policy: Policy) -> tuple[TestClient, SlowEvaluator, list[int]]:
    """A client whose analyses would run a million visits or 600 s, a slow evaluator to watch
    them by, and the root visits of each analysis that ended."""
    slow = SlowEvaluator(delay=0.01)
    finished: list[int] = []

    class Recording(SessionModel):
        def analyze(self, state, **options):
            result = super().analyze(state, **options)
            finished.append(result.visits)
            return result

    engine = Recording(policy, analysis_visits=1_000_000, think_seconds=600,
                       make_evaluator=lambda policy, seed: slow)
    client = TestClient(create_app(engine, ServeConfig(allowed_hosts=("testserver",))))
    client.get("/api/state")
    return client, slow, finished


def test_a_streamed_analysis_stops_when_the_page_goes(tiny_policy: Policy):
    client, slow, finished = unbounded_analysis(tiny_policy)
    with client.websocket_connect("/api/ws") as socket_:
        socket_.send_json({"op": "analyze"})
        wait_until(lambda: slow.calls >= 3, "the analysis never started")
    # The search ends long before its caps (a million visits, 600 s).
    wait_until(lambda: finished, "the analysis went on after the page left")
    assert finished[0] < 1_000_000
    assert client.get("/api/state").json()["winrates"] == [None]  # a stopped one is not kept


def test_a_stop_op_ends_the_running_analysis(tiny_policy: Policy):
    client, slow, finished = unbounded_analysis(tiny_policy)
    with client.websocket_connect("/api/ws") as socket_:
        socket_.send_json({"op": "analyze"})
        wait_until(lambda: slow.calls >= 3, "the analysis never started")
        socket_.send_json({"op": "stop"})
        wait_until(lambda: finished, "the analysis went on after stop")  # socket still open
        assert finished[0] < 1_000_000
        socket_.send_json({"op": "dance"})
        assert "unknown op" in socket_.receive_json()["error"]  # nothing of the stopped one


def test_goai_serve_passes_visits_and_think_seconds_to_the_engine(tiny_model_path: Path,
                                                                  monkeypatch, capsys):
    engines = []
    monkeypatch.setattr("goai.serve.app.run_server", lambda engine, config, announce:
                        engines.append(engine))
    cli.main(["serve", "--model", str(tiny_model_path), "--visits", "7",
              "--analysis-visits", "50", "--think-seconds", "2.5"])
    cli.main(["serve", "--model", str(tiny_model_path)])
    (engine, default) = engines
    assert engine.config.visits == 7 and engine.analysis_visits == 50
    assert engine.think_seconds == 2.5
    assert default.config.visits == 32 and default.analysis_visits == ANALYSIS_VISITS
    for bad in (["--visits", "0"], ["--analysis-visits", "0"]):
        with pytest.raises(SystemExit, match="goai serve: --visits and --analysis-visits"):
            cli.main(["serve", "--model", str(tiny_model_path), *bad])


def test_goai_serve_takes_the_bundled_names_and_a_device(monkeypatch):
    """--model default|small|PATH and --device, as every command that runs a network."""
    engines, made = [], []
    monkeypatch.setattr("goai.serve.app.run_server", lambda engine, config, announce: None)
    monkeypatch.setattr("goai.serve.model.SessionModel",
                        lambda **options: engines.append(options))
    monkeypatch.setattr("goai.nn.policy.Policy", lambda model, **options: made.append(
        (model, options)))
    cli.main(["serve", "--model", "small", "--device", "cpu"])
    (engine,) = engines
    assert engine["name"] == "goai (small)"
    engine["load"]()
    assert made == [("small", {"threads": 1, "device": "cpu"})]



def test_goai_serve_level_is_the_engine_s_level(monkeypatch):
    """--level, as goai gtp and play have it: the level of every game whose form names none."""
    engines = []
    monkeypatch.setattr("goai.serve.app.run_server", lambda engine, config, announce: None)
    monkeypatch.setattr("goai.serve.model.SessionModel",
                        lambda **options: engines.append(options))
    cli.main(["serve", "--model", "small", "--level", "2"])
    cli.main(["serve", "--model", "small"])
    assert [engine["config"].level for engine in engines] == ["2", None]
    assert engines[0]["config"].weakened is not None and engines[1]["config"].visits == 32
    with pytest.raises(SystemExit):
        cli.main(["serve", "--level", "5"])


# ----------------------------------------------------------------- SGF and review


def test_the_game_saved_as_sgf_reads_back_and_reviews_to_the_same_board(tiny_policy: Policy):
    client = client_for(tiny_policy)
    state = play(client, "D4", "Q16", "C3")
    response = client.get("/api/game.sgf")
    assert response.headers["content-disposition"].startswith("attachment")
    record = next(parse_sgf(response.content))
    assert len(record.moves) == state["move_number"] == 6
    review = client.post("/api/review", headers=SGF_BODY, content=response.content).json()
    assert review["boards"][-1] == state["board"] and len(review["moves"]) == 6
    assert review["last_moves"][1] == "D4" and review["moves"][0]["move"] == "D4"
    annotated = client.get("/api/review.sgf")
    assert b"rank" in annotated.content and b"LB[" in annotated.content


def test_review_of_the_sample_game_has_the_figures_and_turning_points(tiny_policy: Policy):
    client = client_for(tiny_policy)
    review = client.post("/api/review", headers=SGF_BODY, content=SAMPLE_GAME.read_bytes()).json()
    moves = review["moves"]
    assert review["moves_in_game"] == len(moves) == len(review["boards"]) - 1
    first = moves[0]
    assert set(first) == {"number", "color", "move", "probability", "rank", "top"}
    assert len(first["top"]) == 3 and 1 <= first["rank"] <= 362
    assert len(review["winrates"]) == len(review["score_leads"]) == len(moves)
    assert all(isinstance(lead, float) for lead in review["score_leads"])  # a score head
    assert [point["why"].startswith("unlikely") for point in review["least_likely"]] == [True] * 5
    # The five largest swings, each said as what moved more: win rate or score.
    swings = [point["why"] for point in review["turning_points"]]
    assert len(swings) == 5
    assert all(re.fullmatch(r"(Black|White)'s win rate -\d+\.\d%|lost [\d.]+ points of score",
                            why) for why in swings), swings


def test_review_turning_points_say_whether_win_rate_or_score_moved_more():
    from goai.play.review import GameReview, MoveReview
    from goai.serve.session import ReviewSession

    record = next(parse_sgf(b"(;SZ[19]KM[7.5];B[pd];W[dp];B[pp];W[dd])"))
    moves = tuple(MoveReview(number, color, point, 0.5, 1, ())
                  for number, (color, point) in enumerate(record.moves, 1))
    review = GameReview(record, "m", frozenset({1, 2}), moves)
    # Black's win rate and lead before each move: move 2 (White) costs White 4 points of
    # win rate but 9 of score; move 3 (Black) costs Black 20 points of win rate, 2 of score.
    session = ReviewSession(record, review, [0.5, 0.46, 0.5, 0.3], [],
                            [0.0, 0.0, 9.0, 7.0])
    assert session.turning_points() == [
        {"number": 3, "move": "B Q4", "why": "Black's win rate -20.0%"},
        {"number": 2, "move": "W D4", "why": "lost 9.0 points of score"},
        {"number": 1, "move": "B Q16", "why": "Black's win rate -4.0%"}]
    # The same moves, in the same order, as the review's own turning points would name
    # from the same losses: one definition (review.turning_points).
    from goai.play.review import turning_points

    losses = [(moves[0], 0.04, 0.0), (moves[1], 0.04, 9.0), (moves[2], 0.2, 2.0)]
    assert [item.number for item, _ in turning_points(losses)] == [3, 2, 1]


def test_a_game_cut_by_the_reader_says_so_where_and_why():
    # Before: a 100,000-move SGF said "the game has 2000 moves": the reader had cut it at
    # its cap of 2,000 without a word.
    data = b"(;GM[1]SZ[19]" + b";B[aa];W[bb]" * 50_000 + b")"
    response = client_for(ScriptedPolicy()).post("/api/review", headers=SGF_BODY, content=data)
    assert response.status_code == 400 and response.json()["reason"] == "too-long"
    assert response.json()["error"] == (
        "the game has more than 2000 moves: the SGF reader keeps at most 2000 on 19x19 and cut "
        "it after move 2000; at most 1000 are reviewed")
    short = client_for(ScriptedPolicy(), max_review_moves=10)
    damaged = b"(;SZ[19]" + b";B[aa];W[bb]" * 6 + b";B[zz])"
    error = short.post("/api/review", headers=SGF_BODY, content=damaged).json()["error"]
    assert error.startswith("the game has 12 moves before the SGF reader cut it (after move 12")


@pytest.mark.parametrize("data, reason", [
    (b"", "bad-sgf"),
    (b"\x00\xff garbage \x89PNG", "bad-sgf"),
    (b"(;", "bad-sgf"),
    (b"(;GM[1]SZ[9];B[ee])", "bad-size"),
    (b"(;GM[1]SZ[52];B[ee])", "bad-sgf"),
    (b"(;GM[1]SZ[19]KM[7.5])", "bad-sgf"),  # no moves
    (b"(;SZ[19]" + b";B[aa];W[bb]" * 600 + b")", "too-long"),
])
def test_hostile_uploads_get_400_with_a_reason(data: bytes, reason: str):
    response = client_for(ScriptedPolicy()).post("/api/review", headers=SGF_BODY, content=data)
    assert response.status_code == 400, response.text
    assert response.json()["reason"] == reason and response.json()["error"]


def test_uploads_over_the_limit_are_refused_and_damaged_games_reviewed_up_to_the_damage():
    client = client_for(ScriptedPolicy(), max_upload_bytes=1000)
    big = b"(;SZ[19]" + b" " * 2000
    assert client.post("/api/review", headers=SGF_BODY, content=big).status_code == 413
    # Deep nesting is no danger to the iterative reader; a repeated point stops the review.
    nested = b"(;SZ[19];B[dd];W[dd]" + b"(;B[aa]" * 100
    review = client.post("/api/review", headers=SGF_BODY, content=nested).json()
    assert len(review["moves"]) == 1 and "illegal" in review["stopped"]


# ----------------------------------------------------------------- sessions


def test_sessions_are_isolated_and_the_least_recently_used_makes_room():
    app = create_app(SessionModel(ScriptedPolicy("Q16")),
                     ServeConfig(allowed_hosts=("testserver",), max_sessions=2))
    first, second, third = TestClient(app), TestClient(app), TestClient(app)
    play(first, "D4")
    assert stones(second.get("/api/state").json()) == {}
    assert sorted(stones(first.get("/api/state").json())) == ["D4", "Q16"]
    second.get("/api/state")  # both came back; the first is now the least recently used
    assert third.get("/api/state").status_code == 200
    sessions = app.state.goai.sessions.slots
    assert len(sessions) == 2 and first.cookies["goai_session"] not in sessions
    assert stones(first.get("/api/state").json()) == {}  # its game made room: a new one


def test_only_busy_sessions_keep_a_new_browser_out():
    app = create_app(SessionModel(ScriptedPolicy()), ServeConfig(allowed_hosts=("testserver",),
                                                           max_sessions=2))
    first, second, third = TestClient(app), TestClient(app), TestClient(app)
    first.get("/api/state")
    second.get("/api/state")
    with first.websocket_connect("/api/ws"), second.websocket_connect("/api/ws"):
        full = third.get("/api/state")  # both pages are open: neither is dropped
        assert full.status_code == 503 and full.json()["reason"] == "full"
    assert third.get("/api/state").status_code == 200


def test_an_idle_session_is_dropped_after_idle_minutes():
    app = create_app(SessionModel(ScriptedPolicy()), ServeConfig(
        allowed_hosts=("testserver",), max_sessions=4, idle_minutes=60))
    first, second = TestClient(app), TestClient(app)
    first.post("/api/play", json={"move": "D4"})
    for slot in app.state.goai.sessions.slots.values():
        slot.session.last_used -= 61 * 60  # an hour and a minute ago
    assert stones(second.get("/api/state").json()) == {}
    assert list(app.state.goai.sessions.slots) == [second.cookies["goai_session"]]


def test_cookieless_requests_cannot_lock_a_browser_out():
    # Before: 32 cookieless `curl 127.0.0.1:P/api/state`, then a browser got 503 "full":
    # every request without a cookie made a session, kept for 60 idle minutes.
    app = create_app(SessionModel(ScriptedPolicy("Q16")),
                     ServeConfig(allowed_hosts=("testserver",)))
    browser, script = TestClient(app), TestClient(app)
    play(browser, "D4")
    for _ in range(200):
        script.cookies.clear()  # a script that keeps no cookie
        assert script.get("/api/state").status_code == 200
    newcomer = TestClient(app)
    assert newcomer.get("/api/state").status_code == 200
    assert newcomer.post("/api/play", json={"move": "C3"}).json()["move_number"] == 1
    assert sorted(stones(browser.get("/api/state").json())) == ["D4", "Q16"]  # still there
    assert len(app.state.goai.sessions.slots) <= 32


def test_state_changes_from_another_origin_or_without_json_are_refused():
    client = client_for(ScriptedPolicy())
    before = client.get("/api/state").json()
    # The reproduction: a text/plain POST from another site, with the cookie, replaced the
    # game (200). A page on another port of this host is same-site: its cookie goes along.
    for origin in ("http://evil.example", "http://testserver:9999", "null"):
        refused = client.post("/api/new", content='{"color":"white"}',
                              headers={"origin": origin, "content-type": "text/plain"})
        assert refused.status_code == 403 and refused.json()["reason"] == "cross-site"
        assert client.post("/api/new", json={"color": "white"},
                           headers={"origin": origin}).status_code == 403
    for headers in ({"sec-fetch-site": "cross-site"}, {"sec-fetch-site": "same-site"}):
        assert client.post("/api/new", json={}, headers=headers).status_code == 403
        assert client.get("/api/state", headers=headers).status_code == 403
    # Simple requests (no preflight) from anywhere: a form, text/plain, no type at all.
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {} if content_type is None else {"content-type": content_type}
        refused = client.post("/api/new", content='{"color":"white"}', headers=headers)
        assert refused.status_code == 415 and refused.json()["reason"] == "content-type"
    refused = client.post("/api/review", content=SAMPLE_GAME.read_bytes(),
                          headers={"content-type": "text/plain"})
    assert refused.status_code == 415 and "application/x-go-sgf" in refused.json()["error"]
    assert client.get("/api/state").json() == before
    # The page itself: same origin, JSON.
    page = {"origin": "http://testserver", "sec-fetch-site": "same-origin"}
    assert client.post("/api/new", json={"color": "white"},
                       headers=page).json()["human"] == "W"


def test_cross_site_requests_make_no_session():
    app = create_app(SessionModel(ScriptedPolicy()), ServeConfig(allowed_hosts=("testserver",)))
    client = TestClient(app)
    for _ in range(50):  # a page elsewhere, fetching with no-cors
        client.get("/api/state", headers={"sec-fetch-site": "cross-site"})
    assert app.state.goai.sessions.slots == {}


@pytest.fixture
def live_server() -> Iterator:
    """``start(policy, host=..., **limits)`` -> base URL of a real uvicorn serving the app in
    a thread, with ``goai serve``'s settings (``uvicorn_config``)."""
    import uvicorn

    servers = []

    def start(policy, host: str = "127.0.0.1", **limits) -> str:
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        sock.bind((host, 0))
        config = ServeConfig(host=host, port=sock.getsockname()[1], **limits)
        server = uvicorn.Server(uvicorn_config(create_app(SessionModel(policy), config), config))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        servers.append((server, thread))
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{config.port}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(5)


def wait_for_engine(policy: ScriptedPolicy) -> None:
    """Until a request has reached the (gated) engine."""
    deadline = time.monotonic() + 10
    while policy.calls == 0:
        assert time.monotonic() < deadline, "no request reached the engine"
        time.sleep(0.01)


def test_a_slow_engine_holds_only_its_own_session(live_server):
    gate = threading.Event()
    policy = ScriptedPolicy("Q16", gate=gate)
    base = live_server(policy)
    with httpx.Client(base_url=base) as slow, httpx.Client(base_url=base) as other:
        slow.post("/api/play", json={"move": "D4"})
        with ThreadPoolExecutor(1) as pool:
            thinking = pool.submit(slow.post, "/api/genmove", json={})
            wait_for_engine(policy)
            assert not thinking.done()
            # The other browser's page and game go on; the thinking session refuses moves.
            assert other.get("/").status_code == 200
            assert other.post("/api/play", json={"move": "C3"}).json()["move_number"] == 1
            busy = slow.post("/api/play", json={"move": "C3"})
            assert busy.status_code == 409 and busy.json()["reason"] == "busy"
            gate.set()
            assert thinking.result(10).json()["last_move"] == "Q16"


def test_an_analysis_in_progress_does_not_hold_up_the_human_move(live_server):
    gate = threading.Event()
    policy = ScriptedPolicy("Q16", gate=gate)
    base = live_server(policy)
    with httpx.Client(base_url=base) as client, ThreadPoolExecutor(1) as pool:
        client.get("/api/state")
        analysing = pool.submit(client.get, "/api/analysis")
        wait_for_engine(policy)
        assert not analysing.done()
        assert client.post("/api/play", json={"move": "D4"}).json()["move_number"] == 1
        gate.set()
        assert analysing.result(10).json()["move_number"] == 0  # about the position it began on
        assert client.get("/api/state").json()["winrates"] == [None, None]  # not kept


def test_concurrent_sessions_play_their_own_games(live_server, tiny_policy: Policy):
    base = live_server(tiny_policy)
    openings = [("D4", "C3"), ("Q16", "R17"), ("K10", "K11"), ("C16", "D17")]

    def one_game(moves: tuple[str, ...]) -> tuple[list[str], dict]:
        with httpx.Client(base_url=base) as client:
            for vertex in moves:
                client.post("/api/play", json={"move": vertex}).raise_for_status()
                client.post("/api/genmove", json={}).raise_for_status()
            return list(moves), client.get("/api/state").json()

    with ThreadPoolExecutor(4) as pool:
        for moves, state in pool.map(one_game, openings):
            assert [entry.split()[1] for entry in state["moves"][::2]] == moves
            assert state["move_number"] == 4


def _half_open(base: str, count: int) -> list[socket.socket]:
    """``count`` connections that each sent the start of a request and a header line."""
    host, port = base.removeprefix("http://").rsplit(":", 1)
    sockets = []
    for _ in range(count):
        sock = socket.create_connection((host.strip("[]"), int(port)))
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        sockets.append(sock)
    return sockets


def test_slow_half_open_connections_make_room_for_new_visitors(live_server):
    # Before: 50 connections, each sending one header line every 2 s, took the whole
    # connection cap (8 x 4 sessions + 16 = 48) and every GET / was 503 meanwhile.
    base = live_server(ScriptedPolicy(), max_sessions=4)
    slow = _half_open(base, 60)
    cut = set()
    try:
        for line in range(3):
            for sock in slow:
                try:
                    sock.sendall(f"X-Slow-{line}: 1\r\n".encode())
                except OSError:  # closed by the server to make room
                    cut.add(sock)
            with httpx.Client(base_url=base) as visitor:
                assert visitor.get("/").status_code == 200
                assert visitor.get("/api/state").status_code == 200
    finally:
        for sock in slow:
            sock.close()
    assert cut  # the oldest slow clients made room


def test_a_request_not_sent_whole_in_time_is_cut(live_server):
    base = live_server(ScriptedPolicy(), request_seconds=0.2)
    (sock,) = _half_open(base, 1)
    with sock:
        sock.settimeout(30)  # a bound on the test, not the measure: the server closes first
        assert sock.recv(100) == b""  # closed without an answer
    with httpx.Client(base_url=base) as visitor:  # a whole request is not timed
        assert visitor.get("/api/state").status_code == 200


def test_an_ipv6_loopback_server_answers_its_own_address(live_server):
    # Before: `goai serve --host ::1` answered every request 400 "Invalid host header".
    if not socket.has_ipv6:
        pytest.skip("no IPv6 here")
    try:
        base = live_server(ScriptedPolicy(), host="::1")
    except OSError:
        pytest.skip("cannot bind ::1 here")
    with httpx.Client(base_url=base) as client:
        assert client.get("/api/state").status_code == 200
        assert client.get("/").status_code == 200
        assert client.get("/", headers={"host": "evil.example"}).status_code == 400


# ----------------------------------------------------------------- the command


def test_goai_serve_refuses_bad_options_and_a_busy_port(tiny_model_path: Path, capsys):
    with pytest.raises(SystemExit, match="port must be"):
        cli.main(["serve", "--port", "70000"])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit, match=f"cannot listen on 127.0.0.1:{port}"):
            cli.main(["serve", "--port", str(port), "--model", str(tiny_model_path)])


def test_goai_serve_stops_with_one_line_when_the_model_cannot_load(tmp_path: Path, capsys):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(SystemExit, match="goai serve: cannot load the model .*junk.pt"):
        cli.main(["serve", "--port", "0", "--model", str(junk)])
    out = capsys.readouterr().out
    assert out.startswith("goai serve: open http://127.0.0.1:") and "warning" not in out
    with pytest.raises(SystemExit, match="cannot load the model"):
        cli.main(["serve", "--host", "0.0.0.0", "--port", "0", "--model", str(junk)])
    assert capsys.readouterr().out.startswith("warning: listening on 0.0.0.0, not only this")
    with pytest.raises(SystemExit, match="cannot load the model"):  # loopback: no warning
        cli.main(["serve", "--host", "127.0.0.2", "--port", "0", "--model", str(junk)])
    assert capsys.readouterr().out.startswith("goai serve: open http://127.0.0.2:")
    with pytest.raises(SystemExit, match="goai serve: no model '.*missing.pt': give default, "
                                         "small or the path"):
        cli.main(["serve", "--model", str(tmp_path / "missing.pt")])


def test_the_model_loads_once_in_the_background_and_pages_wait_for_it(tiny_model_path: Path):
    loads = []

    def load() -> Policy:
        loads.append(1)
        return Policy(tiny_model_path)

    engine = SessionModel(load=load)
    done = threading.Event()
    engine.start_loading(lambda error: done.set())
    client = TestClient(create_app(engine, ServeConfig(allowed_hosts=("testserver",))))
    assert client.get("/api/analysis").json()["move_number"] == 0
    assert done.wait(10) and loads == [1]
    failing = SessionModel(load=lambda: Policy(tiny_model_path.parent / "missing.pt"))
    client = TestClient(create_app(failing, ServeConfig(allowed_hosts=("testserver",))))
    response = client.get("/api/analysis")
    assert response.status_code == 503 and "could not be loaded" in response.json()["error"]
