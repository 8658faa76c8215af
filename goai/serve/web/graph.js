// The win-rate graph along a game: Black's win probability per position (0 = the start),
// a line at 50%, a marker at the current position, and optional bars under it (the played
// move's probability in a review). Gaps (positions not analysed) break the line.

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 400;
const HEIGHT = 100;

function element(name, attributes, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  parent.appendChild(node);
  return node;
}

export class Graph {
  // `onSelect(index)` is called with the position clicked, when given.
  constructor(svg, onSelect = null) {
    this.svg = svg;
    this.onSelect = onSelect;
    this.count = 1;
    svg.setAttribute("viewBox", `0 0 ${WIDTH} ${HEIGHT}`);
    svg.setAttribute("preserveAspectRatio", "none");
    svg.addEventListener("click", (event) => {
      if (!this.onSelect) return;
      const box = svg.getBoundingClientRect();
      const fraction = (event.clientX - box.left) / Math.max(box.width, 1);
      this.onSelect(Math.round(fraction * Math.max(this.count - 1, 1)));
    });
  }

  // winrates: per position, a number in [0, 1] or null; bars: per move (index 1..), [0, 1].
  draw(winrates, current, bars = null) {
    const svg = this.svg;
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    this.count = Math.max(winrates.length, bars ? bars.length + 1 : 0, 2);
    const x = (index) => (index / (this.count - 1)) * WIDTH;
    const y = (rate) => HEIGHT - rate * HEIGHT;
    element("rect", { class: "graph-back", x: 0, y: 0, width: WIDTH, height: HEIGHT }, svg);
    if (bars) {
      const width = Math.max(WIDTH / this.count - 0.5, 0.5);
      bars.forEach((value, index) => {
        if (value == null) return;
        element("rect", {
          class: "graph-bar", x: x(index + 1) - width / 2, y: y(value), width,
          height: value * HEIGHT,
        }, svg);
      });
    }
    element("line", { class: "graph-mid", x1: 0, y1: HEIGHT / 2, x2: WIDTH, y2: HEIGHT / 2 }, svg);
    let path = "";
    let drawing = false;
    winrates.forEach((rate, index) => {
      if (rate == null) {
        drawing = false;
        return;
      }
      path += `${drawing ? "L" : "M"}${x(index).toFixed(1)},${y(rate).toFixed(1)} `;
      drawing = true;
    });
    if (path) element("path", { class: "graph-line", d: path }, svg);
    element("line", {
      class: "graph-now", x1: x(current), y1: 0, x2: x(current), y2: HEIGHT,
    }, svg);
  }
}
