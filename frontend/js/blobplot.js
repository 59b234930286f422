// Ranking-stability blob plot (as in challengeR): one column per team, ordered by its
// position on the board; a blob at each rank it reached, its area proportional to the
// share of bootstrap samples; the black line is the 95% interval, the dot the median,
// the red ring the team's position on the board itself.

const NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, text = null) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== null) node.textContent = text;
  return node;
}

/**
 * @param {Array<{team: string, position: number, stability: {rank_shares: number[],
 *   median: number, interval: [number, number], share_first: number}}>} rows board rows
 * @param {{samples: number, seed: number}} summary the bootstrap's parameters
 * @returns {SVGSVGElement}
 */
export function blobPlot(rows, summary) {
  const teams = rows.filter((r) => r.stability);
  const n = teams.length;
  const col = n > 30 ? 40 : 64;
  const rowH = Math.max(16, Math.min(34, 420 / Math.max(n, 1)));
  const left = 48;
  const top = 16;
  const labelSpace = 120;
  // Room on the right for the last team's slanted label.
  const width = left + col * n + 100;
  const height = top + rowH * n + labelSpace;
  const maxR = Math.min(col, rowH) * 0.55;
  const y = (rank) => top + (rank - 0.5) * rowH;
  const x = (i) => left + (i + 0.5) * col;
  const root = svg("svg", {
    class: "blobs",
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: "img",
    "aria-labelledby": "blob-title blob-desc",
  });
  root.append(svg("title", { id: "blob-title" }, "Ranking stability"));
  const medians = teams.map((t) => `${t.team}: median rank ${t.stability.median}, 95% interval ${t.stability.interval[0]}–${t.stability.interval[1]}`);
  root.append(
    svg(
      "desc",
      { id: "blob-desc" },
      `Rank of each team across ${summary.samples} bootstrap samples (seed ${summary.seed}). ${medians.join("; ")}.`,
    ),
  );
  for (let rank = 1; rank <= n; rank += 1) {
    root.append(svg("line", { class: "grid", x1: left, x2: left + col * n, y1: y(rank), y2: y(rank) }));
    root.append(svg("text", { x: left - 8, y: y(rank) + 4, "text-anchor": "end" }, String(rank)));
  }
  root.append(
    svg("text", { x: 12, y: top + (rowH * n) / 2, transform: `rotate(-90 12 ${top + (rowH * n) / 2})`, "text-anchor": "middle" }, "rank"),
  );
  teams.forEach((row, i) => {
    const st = row.stability;
    const g = svg("g", { class: "team", "data-team": row.team });
    st.rank_shares.forEach((share, k) => {
      if (share <= 0) return;
      const blob = svg("circle", { class: "blob", cx: x(i), cy: y(k + 1), r: (maxR * Math.sqrt(share)).toFixed(2) });
      blob.append(svg("title", {}, `${row.team}: rank ${k + 1} in ${(share * 100).toFixed(1)}% of samples`));
      g.append(blob);
    });
    g.append(svg("line", { class: "interval", x1: x(i), x2: x(i), y1: y(st.interval[0]), y2: y(st.interval[1]) }));
    g.append(svg("circle", { class: "median", cx: x(i), cy: y(st.median), r: 2.5 }));
    g.append(svg("circle", { class: "point", cx: x(i), cy: y(row.position), r: 5 }));
    const ly = top + rowH * n + 8;
    g.append(svg("text", { x: x(i), y: ly, transform: `rotate(45 ${x(i)} ${ly})`, "text-anchor": "start" }, row.team));
    root.append(g);
  });
  return root;
}
