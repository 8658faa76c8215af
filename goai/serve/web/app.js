// The page: a game against goai and the review of an uploaded SGF, over the JSON API of
// `goai serve` (documented in the README). The server owns the rules: the page sends
// moves and draws what comes back.

import { Board } from "./board.js";
import { Graph } from "./graph.js";

const $ = (id) => document.getElementById(id);
const COLOR_NAMES = { B: "Black", W: "White" };

let mode = "game";
let game = null;
let analysis = null;
let review = null;
let reviewIndex = 0;
let busy = false;
let socket = null;

const board = new Board($("board"), (vertex) => {
  if (mode === "game") play(vertex);
});
const graph = new Graph($("graph"), (index) => {
  if (mode === "review" && review) showReview(index);
});

// ----------------------------------------------------------------- talking to the server

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", ...options });
  let data;
  try {
    data = await response.json();
  } catch {
    data = { error: `the server answered ${response.status}` };
  }
  if (!response.ok) throw new Error(data.error || `the server answered ${response.status}`);
  return data;
}

function post(path, body = {}) {
  return api(path, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
  });
}

function openSocket() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/api/ws`);
  socket.addEventListener("message", (event) => {
    const data = JSON.parse(event.data);
    if (data.type === "analysis") onAnalysis(data);
  });
  socket.addEventListener("close", () => {
    socket = null;
  });
}

function requestAnalysis() {
  // The WebSocket streams a search's snapshots as they come; plain HTTP is the fallback.
  if (socket && socket.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify({ op: "analyze" }));
  } else {
    api("/api/analysis").then(onAnalysis).catch(() => {});
  }
}

function stopAnalysis() {
  // Before a move: a running search would share the CPU with the engine's reply.
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ op: "stop" }));
}

function setBusy(value) {
  busy = value;
  document.body.dataset.busy = String(value);
  for (const id of ["pass", "undo", "resign"]) $(id).disabled = value;
}

function say(text) {
  $("message").textContent = text || "";
}

// ----------------------------------------------------------------- the game

async function run(action) {
  // One request at a time; errors (an illegal move, a busy server) go to the message line.
  if (busy) return;
  setBusy(true);
  stopAnalysis();
  say("");
  try {
    await action();
  } catch (error) {
    say(error.message);
  } finally {
    setBusy(false);
    if (mode === "game" && game) showGame();
  }
}

async function afterChange() {
  showGame();
  if (game.engine_to_play) {
    $("status").textContent = `${game.engine_name} is thinking…`;
    game = await post("/api/genmove");
    showGame();
  }
  if (!game.over) requestAnalysis();
}

function play(vertex) {
  if (!game || busy) return;
  if (game.over) {
    say("The game is over: start a new game, or undo.");
    return;
  }
  run(async () => {
    game = await post("/api/play", { move: vertex });
    analysis = null;
    await afterChange();
  });
}

function onAnalysis(data) {
  // A search streams snapshots (final false) and then its final word; each replaces the last.
  if (!game || data.move_number !== game.move_number) return; // a position already left
  analysis = data;
  game.winrates[data.move_number] = data.black_winrate;
  if (game.score_leads) game.score_leads[data.move_number] = data.black_score_lead;
  if (mode === "game") showAnalysis();
}

function lead(points) {
  // Black's lead in points (the API's black_score_lead) in words.
  if (Math.abs(points) < 0.05) return "the score is even";
  return `${points > 0 ? "Black" : "White"} leads by ${Math.abs(points).toFixed(1)} points`;
}

function showGame() {
  board.setPosition(game.board, game.last_move, game.to_play);
  const captures = `Captures: Black ${game.captures.B}, White ${game.captures.W}`;
  const last = game.last_move ? `; last ${game.last_move}` : "";
  let status;
  if (game.over) {
    status = `Game over: ${game.result}${game.result_text ? ` (${game.result_text})` : ""}`;
  } else if (game.to_play === game.human) {
    status = `You (${COLOR_NAMES[game.human]}) to play, move ${game.move_number + 1}`;
  } else {
    status = `${game.engine_name} (${COLOR_NAMES[game.engine]}) to play`;
  }
  const against = game.level ? ` Against ${game.engine_name}.` : "";
  // The next game's level starts as this one's: goai serve --level's, until the form changes it.
  if (game.move_number === 0) $("new-level").value = game.level || "full";
  $("status").textContent = `${status}. ${captures}${last}.${against}`;
  // At the end: where the human lost most, by the win rates seen along the game.
  const lessons = game.over ? game.lessons || [] : [];
  $("lessons").hidden = lessons.length === 0;
  $("lessons").textContent = lessons.length === 0 ? "" : "Where you lost most: "
    + lessons.map((item) => `move ${item.number} (${item.move}), ${item.why}`).join("; ") + ".";
  document.body.dataset.moveNumber = String(game.move_number);
  showAnalysis();
}

function candidateText(candidate) {
  let text = `${candidate.move} ${(100 * candidate.prior).toFixed(1)}%`;
  if (candidate.visits != null) text += `, ${candidate.visits} visits`;
  if (candidate.winrate != null) text += `, win ${(100 * candidate.winrate).toFixed(1)}%`;
  if (candidate.score_lead != null) {
    const points = candidate.score_lead;
    text += `, ${points >= 0 ? "+" : "−"}${Math.abs(points).toFixed(1)} pts`;
  }
  return text;
}

// Under the board: the current analysis's win rate and score lead (Black's view), or, once
// a game is counted, which stones were taken off as dead and who judged them.
function showOutlook(current) {
  if (game.over && game.count) {
    const dead = game.count.dead.length;
    const judge = game.count.judge === "ownership" ? "the network's ownership map"
      : "a rule of thumb about eyes (this model has no ownership head)";
    $("outlook").textContent = `Counted with ${dead} dead stone${dead === 1 ? "" : "s"} `
      + `(crossed) taken off, judged by ${judge}; squares: who owns each point.`;
    return;
  }
  if (!current || current.black_winrate == null) {
    $("outlook").textContent = "";
    return;
  }
  let text = `Black's win rate ${(100 * current.black_winrate).toFixed(1)}%`;
  if (current.black_score_lead != null) text += ` · ${lead(current.black_score_lead)}`;
  $("outlook").textContent = `${text} (${current.search ? "search" : "network"}).`;
}

// The analysis of the current position over the stones (redrawn for every snapshot of a
// search, without touching the stones): heat map or search discs, the candidate list (hover
// one: its variation on the board) and the win-rate graph.
function showAnalysis() {
  const current = analysis && analysis.move_number === game.move_number ? analysis : null;
  const heat = $("heat-toggle").checked && current && !game.over;
  const territory = $("territory-toggle").checked;
  const counted = game.over && game.count;
  // The key explains the map's squares; a counted game's are explained under the board.
  $("territory-key").hidden = !territory || Boolean(counted);
  $("territory-note").textContent = territory && current && current.ownership == null
    ? " This model has no ownership head: no map (start goai serve with a --value-model "
      + "that has one)." : "";
  if (counted) board.setCount(game.count);
  else board.setTerritory(territory && current ? current.ownership : null);
  showOutlook(current);
  board.setHeat(heat ? current.priors : null, heat ? current.candidates : [],
    Boolean(heat && current.search));
  board.hover(null);
  const list = $("candidates");
  list.replaceChildren();
  if (heat) {
    const shown = current.search
      ? current.candidates.filter((candidate) => candidate.visits > 0) : current.candidates;
    for (const candidate of shown.slice(0, 5)) {
      const item = document.createElement("li");
      item.textContent = candidateText(candidate);
      item.dataset.vertex = candidate.move;
      item.addEventListener("mouseenter", () => board.hover(candidate.move));
      item.addEventListener("mouseleave", () => board.hover(null));
      list.appendChild(item);
    }
  }
  $("search-info").textContent = heat && current.search
    ? `Search: ${current.visits} visits${current.final ? "" : " so far…"}; hover a move `
      + "(here or on the board) for its variation." : "";
  graph.draw(game.winrates, game.move_number);
  const searched = current ? current.search : analysis && analysis.search;
  $("graph-caption").textContent = game.winrates.some((rate) => rate != null)
    ? `Black's win rate along the game (${searched ? "search" : "value head"})` : "";
}

// ----------------------------------------------------------------- review

async function upload(file) {
  if (file.size > 1000000) {
    say("That file is over 1 MB: not an SGF of one game.");
    return;
  }
  const text = await file.text();
  await run(async () => {
    $("status").textContent = `Reviewing ${file.name}…`;
    review = await api("/api/review", {
      method: "POST", headers: { "content-type": "application/x-go-sgf" }, body: text,
    });
    setMode("review");
    showReview(0);
  });
}

function pct(probability) {
  const value = 100 * probability;
  return value >= 0.05 || value === 0 ? `${value.toFixed(1)}%` : `${value.toPrecision(2)}%`;
}

function showReview(index) {
  const last = review.boards.length - 1;
  reviewIndex = Math.max(0, Math.min(index, last));
  const k = reviewIndex;
  const next = review.moves[k];
  board.setPosition(review.boards[k], review.last_moves[k], next ? next.color : "B");
  board.setHeat(null);
  board.setTerritory(null);
  const rate = review.winrates[k];
  const points = (review.score_leads || [])[k];
  $("outlook").textContent = rate == null ? ""
    : `Black's win rate ${(100 * rate).toFixed(1)}%`
      + `${points == null ? "" : ` · ${lead(points)}`} (network).`;
  if (next) {
    board.setLabels(next.top.map((candidate, rank) => ({ vertex: candidate.move, text: "ABC"[rank] })));
  }
  const played = review.moves[k - 1];
  $("review-move").textContent = played
    ? `Move ${played.number}, ${COLOR_NAMES[played.color]} ${played.move}: ${pct(played.probability)}, `
      + (played.rank === 1 ? "the model's first choice" : `rank ${played.rank} of 362`)
    : "The start of the game.";
  $("review-next-text").textContent = next
    ? `Labels A, B, C: the model's top 3 for move ${next.number} (${COLOR_NAMES[next.color]}): `
      + next.top.map((candidate, rank) => `${"ABC"[rank]} ${candidate.move} ${pct(candidate.probability)}`).join(", ")
    : "";
  const captures = review.captures[k];
  $("status").textContent = `Review: after move ${k} of ${last}; captures: Black ${captures.B}, White ${captures.W}.`;
  document.body.dataset.moveNumber = String(k);
  $("review-slider").max = String(last);
  $("review-slider").value = String(k);
  graph.draw(review.winrates, k, review.moves.map((move) => move.probability));
}

function showMoveList(list, points) {
  list.replaceChildren();
  for (const point of points) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.textContent = `${point.number} ${point.move}`;
    button.addEventListener("click", () => showReview(point.number));
    item.append(button, ` ${point.why}`);
    list.appendChild(item);
  }
}

function showReviewSummary() {
  const names = `${review.black || "Black"} (B) vs ${review.white || "White"} (W)`;
  const notes = review.notes.length ? ` Notes: ${review.notes.join("; ")}.` : "";
  $("review-summary").textContent = `${names}, komi ${review.komi}, result ${review.result || "?"}. `
    + `The model's first choice was played ${pct(review.match_rate)} of the time; mean probability `
    + `of the move played ${pct(review.mean_probability)}.${notes}`;
  showMoveList($("least-likely"), review.least_likely);
  showMoveList($("turning-points"), review.turning_points);
  $("review-body").hidden = false;
}

function setMode(value) {
  mode = value;
  $("mode-game").setAttribute("aria-pressed", String(value === "game"));
  $("mode-review").setAttribute("aria-pressed", String(value === "review"));
  $("game-panel").hidden = value !== "game";
  $("review-panel").hidden = value !== "review";
  say("");
  if (value === "game" && game) {
    $("graph-caption").textContent = "";
    showGame();
  } else if (value === "review") {
    if (review) {
      showReviewSummary();
      showReview(reviewIndex);
    } else {
      board.setPosition(".".repeat(361), null, "B");
      board.setHeat(null);
      board.setTerritory(null);
      $("outlook").textContent = "";
      graph.draw([], 0);
      $("status").textContent = "Open an SGF file to review it.";
    }
  }
}

// ----------------------------------------------------------------- controls

$("move-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("move-input").value.trim();
  if (!text) return;
  $("move-input").value = "";
  play(text);
});
$("pass").addEventListener("click", () => play("pass"));
$("undo").addEventListener("click", () => run(async () => {
  game = await post("/api/undo");
  analysis = null;
  await afterChange();
}));
$("resign").addEventListener("click", () => run(async () => {
  game = await post("/api/resign");
}));
$("heat-toggle").addEventListener("change", () => {
  if (mode === "game" && game) showAnalysis();
});
$("territory-toggle").addEventListener("change", () => {
  if (mode === "game" && game) showAnalysis();
});
$("new-form").addEventListener("submit", (event) => {
  event.preventDefault();
  run(async () => {
    game = await post("/api/new", {
      color: $("new-color").value, handicap: Number($("new-handicap").value),
      komi: Number($("new-komi").value), level: $("new-level").value,
    });
    analysis = null;
    await afterChange();
  });
});
$("mode-game").addEventListener("click", () => setMode("game"));
$("mode-review").addEventListener("click", () => setMode("review"));
$("review-file").addEventListener("change", (event) => {
  const file = event.target.files[0];
  if (file) upload(file);
});
$("review-first").addEventListener("click", () => showReview(0));
$("review-prev").addEventListener("click", () => showReview(reviewIndex - 1));
$("review-next").addEventListener("click", () => showReview(reviewIndex + 1));
$("review-last").addEventListener("click", () => showReview(review.boards.length - 1));
$("review-slider").addEventListener("input", (event) => showReview(Number(event.target.value)));

document.addEventListener("keydown", (event) => {
  const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(event.target.tagName)
    && event.target.type !== "range" && event.target.type !== "checkbox";
  if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
  if (mode === "review" && review) {
    const steps = { ArrowLeft: -1, ArrowRight: 1 };
    if (event.key in steps) showReview(reviewIndex + steps[event.key]);
    else if (event.key === "Home") showReview(0);
    else if (event.key === "End") showReview(review.boards.length - 1);
    else return;
    event.preventDefault();
    return;
  }
  if (mode !== "game") return;
  if (event.key === "m") $("move-input").focus();
  else if (event.key === "h") $("heat-toggle").click();
  else if (event.key === "t") $("territory-toggle").click();
  else if (event.key === "u") $("undo").click();
  else return;
  event.preventDefault();
});

// ----------------------------------------------------------------- start

run(async () => {
  game = await api("/api/state");
  openSocket();
  await afterChange();
}).then(() => {
  document.body.dataset.ready = "true";
});
