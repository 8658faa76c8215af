// The 19x19 board in SVG: grid, GUI coordinates (A-T without I, 19 at the top), stones,
// the last-move mark, the policy heat map, candidate labels, a variation on hover, the
// territory map (ownership) and the count of a finished game.
// Points are GTP vertices ("D4") everywhere outside this file; inside, (col, row) with
// row 0 at the top, as the server's board string is ordered.

const SVG = "http://www.w3.org/2000/svg";
export const SIZE = 19;
export const COLUMNS = "ABCDEFGHJKLMNOPQRST";
const STARS = [3, 9, 15];
const OFFSET = 1.5;
const HEAT_POINTS = 40; // point (0, 0) sits at (1.5, 1.5): room for the coordinates around it

export function vertexOf(col, row) {
  return COLUMNS[col] + String(SIZE - row);
}

export function pointOf(vertex) {
  // [col, row] of a GTP vertex, or null for pass or anything that is not a point.
  const match = /^([A-HJ-T])(\d{1,2})$/i.exec(String(vertex || "").trim());
  if (!match) return null;
  const col = COLUMNS.indexOf(match[1].toUpperCase());
  const number = Number(match[2]);
  if (col < 0 || number < 1 || number > SIZE) return null;
  return [col, SIZE - number];
}

function element(name, attributes = {}, parent = null) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (parent) parent.appendChild(node);
  return node;
}

function clear(group) {
  while (group.firstChild) group.removeChild(group.firstChild);
}

export class Board {
  // Draws into `svg`; `onPoint(vertex)` is called when a point is clicked.
  constructor(svg, onPoint) {
    this.svg = svg;
    this.onPoint = onPoint;
    this.stones = ".".repeat(SIZE * SIZE);
    svg.setAttribute("viewBox", `0 0 ${SIZE + 2} ${SIZE + 2}`);
    svg.setAttribute("role", "img");
    element("rect", { class: "wood", x: 0.5, y: 0.5, width: SIZE + 1, height: SIZE + 1, rx: 0.3 }, svg);
    const grid = element("g", { class: "grid" }, svg);
    const last = SIZE - 1 + OFFSET;
    for (let i = 0; i < SIZE; i += 1) {
      const at = i + OFFSET;
      element("line", { x1: OFFSET, y1: at, x2: last, y2: at }, grid);
      element("line", { x1: at, y1: OFFSET, x2: at, y2: last }, grid);
    }
    for (const row of STARS) {
      for (const col of STARS) {
        element("circle", { class: "star", cx: col + OFFSET, cy: row + OFFSET, r: 0.1 }, grid);
      }
    }
    const labels = element("g", { class: "coord" }, svg);
    for (let i = 0; i < SIZE; i += 1) {
      for (const y of [0.9, SIZE + 1.25]) {
        element("text", { x: i + OFFSET, y }, labels).textContent = COLUMNS[i];
      }
      for (const x of [0.75, SIZE + 1.25]) {
        element("text", { x, y: i + OFFSET + 0.17 }, labels).textContent = String(SIZE - i);
      }
    }
    this.heatLayer = element("g", { class: "heat" }, svg);
    this.stoneLayer = element("g", { class: "stones" }, svg);
    // Over the stones: a square of the other colour on a stone is how a dead stone shows.
    this.territoryLayer = element("g", { class: "territory" }, svg);
    this.markLayer = element("g", { class: "marks" }, svg);
    this.ghostLayer = element("g", { class: "ghosts" }, svg);
    const hits = element("g", { class: "hits" }, svg);
    for (let row = 0; row < SIZE; row += 1) {
      for (let col = 0; col < SIZE; col += 1) {
        const vertex = vertexOf(col, row);
        const hit = element("rect", {
          class: "hit", x: col + OFFSET - 0.5, y: row + OFFSET - 0.5, width: 1, height: 1,
          "data-vertex": vertex,
        }, hits);
        element("title", {}, hit).textContent = vertex;
      }
    }
    svg.addEventListener("click", (event) => {
      const vertex = event.target.getAttribute && event.target.getAttribute("data-vertex");
      if (vertex) this.onPoint(vertex);
    });
    svg.addEventListener("mouseover", (event) => {
      const vertex = event.target.getAttribute && event.target.getAttribute("data-vertex");
      this.hover(vertex);
    });
    svg.addEventListener("mouseleave", () => this.hover(null));
    this.variations = new Map();
    this.toPlay = "B";
  }

  // board: 361 characters, row 19 first ("." empty, "X" black, "O" white); last: vertex or null.
  setPosition(board, lastMove, toPlay) {
    this.stones = board;
    this.toPlay = toPlay;
    clear(this.stoneLayer);
    clear(this.markLayer);
    clear(this.ghostLayer);
    for (let index = 0; index < board.length; index += 1) {
      const stone = board[index];
      if (stone === ".") continue;
      const row = Math.floor(index / SIZE);
      const col = index % SIZE;
      element("circle", {
        class: `stone ${stone === "X" ? "black" : "white"}`, cx: col + OFFSET, cy: row + OFFSET,
        r: 0.47, "data-vertex": vertexOf(col, row), "data-color": stone === "X" ? "B" : "W",
      }, this.stoneLayer);
    }
    const point = pointOf(lastMove);
    if (point) {
      const stone = board[point[1] * SIZE + point[0]];
      element("circle", {
        class: `last ${stone === "X" ? "on-black" : "on-white"}`, cx: point[0] + OFFSET,
        cy: point[1] + OFFSET, r: 0.2,
      }, this.markLayer);
    }
  }

  // Letters (or short texts) on points: [{vertex, text}]; drawn until the next setPosition.
  setLabels(labels) {
    for (const { vertex, text } of labels) {
      const point = pointOf(vertex);
      if (!point) continue;
      const x = point[0] + OFFSET;
      const y = point[1] + OFFSET;
      const stone = this.stones[point[1] * SIZE + point[0]];
      if (stone === ".") element("circle", { class: "label-back", cx: x, cy: y, r: 0.38 }, this.markLayer);
      element("text", { class: `label ${stone === "X" ? "on-black" : ""}`, x, y: y + 0.16 },
        this.markLayer).textContent = text;
    }
  }

  // The heat map: priors (361, row 19 first) as discs whose opacity follows p / max p, and the
  // candidates' priors on the best ones. With a search (`searched`), the candidates instead:
  // disc size and opacity follow their share of the visits, the label is the mover's win rate.
  // null clears it. Each candidate's principal variation is kept for `hover`.
  setHeat(priors, candidates = [], searched = false) {
    clear(this.heatLayer);
    this.variations = new Map();
    if (!priors) return;
    for (const candidate of candidates) {
      if (candidate.pv && candidate.pv.length) this.variations.set(candidate.move, candidate.pv);
    }
    if (searched) {
      this.drawSearch(candidates);
      return;
    }
    const top = Math.max(...priors, 1e-9);
    // At most HEAT_POINTS discs: a flat policy would otherwise paint the whole board.
    const floor = [...priors].sort((a, b) => b - a)[HEAT_POINTS - 1];
    priors.forEach((p, index) => {
      if (p <= 0 || p < floor || p / top < 0.02 || this.stones[index] !== ".") return;
      const row = Math.floor(index / SIZE);
      const col = index % SIZE;
      element("circle", {
        class: "heat-point", cx: col + OFFSET, cy: row + OFFSET, r: 0.45,
        "fill-opacity": (0.15 + 0.8 * (p / top)).toFixed(3), "data-vertex": vertexOf(col, row),
      }, this.heatLayer);
    });
    for (const candidate of candidates.slice(0, 5)) {
      const point = pointOf(candidate.move);
      if (!point) continue;
      const percent = 100 * candidate.prior;
      const text = percent >= 9.5 ? `${Math.round(percent)}` : percent.toFixed(1);
      // White on a strong disc, dark on a faint one (the disc's opacity follows p / max p).
      const faint = candidate.prior / top < 0.4 ? " faint" : "";
      element("text", {
        class: `heat-label${faint}`, x: point[0] + OFFSET, y: point[1] + OFFSET + 0.15,
      }, this.heatLayer).textContent = text;
    }
  }

  // The searched candidates: a disc per visited move (the most visited in the accent colour),
  // its area following visits / most visits, labelled with the win rate in percent.
  drawSearch(candidates) {
    const visited = candidates.filter((candidate) => candidate.visits > 0);
    const most = Math.max(...visited.map((candidate) => candidate.visits), 1);
    visited.forEach((candidate, order) => {
      const point = pointOf(candidate.move);
      if (!point) return;
      const share = candidate.visits / most;
      const x = point[0] + OFFSET;
      const y = point[1] + OFFSET;
      element("circle", {
        class: `heat-point search${order === 0 ? " best" : ""}`, cx: x, cy: y,
        r: (0.2 + 0.27 * Math.sqrt(share)).toFixed(3),
        "fill-opacity": (0.35 + 0.6 * share).toFixed(3), "data-vertex": candidate.move,
        "data-visits": String(candidate.visits),
      }, this.heatLayer);
      if (candidate.winrate != null) {
        const faint = share < 0.3 ? " faint" : "";
        element("text", { class: `heat-label${faint}`, x, y: y + 0.15 }, this.heatLayer)
          .textContent = String(Math.round(100 * candidate.winrate));
      }
    });
  }

  // The territory map: ownership (361 numbers in [-1, 1], Black's view, row 19 first, the
  // board string's order) as squares, black for Black's points and white for White's, the
  // side following how sure the map is (GoGui's and KaTrain's way). Nothing under 0.1, and
  // nothing on a stone of the owner's colour (a square would not show on it); a square on
  // a stone of the other colour marks it dead. null clears it.
  setTerritory(ownership) {
    clear(this.territoryLayer);
    if (!ownership) return;
    ownership.forEach((value, index) => {
      const size = Math.min(Math.abs(value), 1) * 0.6;
      if (Math.abs(value) < 0.1) return;
      const owner = value > 0 ? "X" : "O";
      if (this.stones[index] === owner) return;
      this.square(index, size, owner === "X" ? "black" : "white");
    });
  }

  // The count of a finished game ({dead, seki, area}, the API's game.count): each point's
  // owner once the dead stones are off as a square, the dead stones faded and crossed, seki
  // stones ringed. null clears it.
  setCount(count) {
    clear(this.territoryLayer);
    for (const stone of this.stoneLayer.querySelectorAll(".dead")) stone.classList.remove("dead");
    if (!count) return;
    const dead = new Set(count.dead);
    [...count.area].forEach((owner, index) => {
      const row = Math.floor(index / SIZE);
      const col = index % SIZE;
      if (owner === "." || (this.stones[index] !== "." && !dead.has(vertexOf(col, row)))) return;
      this.square(index, 0.4, owner === "X" ? "black" : "white");
    });
    for (const vertex of count.dead) {
      const point = pointOf(vertex);
      if (!point) continue;
      const stone = this.stoneLayer.querySelector(`[data-vertex="${vertex}"]`);
      if (stone) stone.classList.add("dead");
      const x = point[0] + OFFSET;
      const y = point[1] + OFFSET;
      for (const [dx, dy] of [[0.3, 0.3], [0.3, -0.3]]) {
        element("line", {
          class: "dead-mark", x1: x - dx, y1: y - dy, x2: x + dx, y2: y + dy, "data-dead": vertex,
        }, this.territoryLayer);
      }
    }
    for (const vertex of count.seki) {
      const point = pointOf(vertex);
      if (point) {
        element("circle", {
          class: "seki-mark", cx: point[0] + OFFSET, cy: point[1] + OFFSET, r: 0.3,
        }, this.territoryLayer);
      }
    }
  }

  square(index, size, color) {
    const row = Math.floor(index / SIZE);
    const col = index % SIZE;
    element("rect", {
      class: `own ${color}`, x: (col + OFFSET - size / 2).toFixed(3),
      y: (row + OFFSET - size / 2).toFixed(3), width: size.toFixed(3), height: size.toFixed(3),
      "data-vertex": vertexOf(col, row),
    }, this.territoryLayer);
  }

  // The principal variation of a hovered candidate, as numbered translucent stones.
  hover(vertex) {
    clear(this.ghostLayer);
    const pv = vertex ? this.variations.get(vertex) : null;
    if (!pv) return;
    let color = this.toPlay;
    pv.forEach((move, number) => {
      const point = pointOf(move);
      if (point) {
        const x = point[0] + OFFSET;
        const y = point[1] + OFFSET;
        element("circle", {
          class: `ghost ${color === "B" ? "black" : "white"}`, cx: x, cy: y, r: 0.45,
          "data-number": String(number + 1),
        }, this.ghostLayer);
        element("text", { class: `label ${color === "B" ? "on-black" : ""}`, x, y: y + 0.16 },
          this.ghostLayer).textContent = String(number + 1);
      }
      color = color === "B" ? "W" : "B";
    });
  }
}
