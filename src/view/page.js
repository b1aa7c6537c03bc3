"use strict";
(function () {
  const D = JSON.parse(document.getElementById("trace-data").textContent);
  const $ = (id) => document.getElementById(id);
  const S = D.steps.length;
  const OPS = { x: "initial", u: "unmask", r: "remask", h: "hold", k: "keep", i: "insert", d: "delete" };
  const rounds = new Map();
  for (const r of D.rounds) rounds.set(r.round, r);
  // Prefix maxima of the lengths: the peak so far at every step.
  const peakSoFar = [];
  let m = 0;
  for (const L of D.lengths) { m = Math.max(m, L); peakSoFar.push(m); }

  function role(i, L) {
    for (const g of D.regions) {
      const s = g.start < 0 ? L + g.start : g.start;
      const e = g.end === undefined || g.end === null ? L : (g.end < 0 ? L + g.end : g.end);
      if (i >= s && i < e) return g.role;
    }
    return "";
  }

  // One step of the rebuild: the record's operations on the canvas before it.
  function advance(x, st) {
    const t = [], s = [], op = [];
    let d = 0;
    for (let i = 0; i < st.o.length; i++) {
      const c = st.o[i], l = c.toLowerCase();
      if (l === "k") { t.push(x.t[i]); s.push(x.s[i]); op.push("k"); }
      else if (l === "r" || l === "h") { t.push(-1); s.push(0); op.push(l); }
      else if (l === "u") {
        const e = st.d[d++];
        t.push(e[1]); s.push(e[2]); op.push("u");
      }
      if (c !== l) { t.push(-1); s.push(0); op.push("i"); }
    }
    return { t: t, s: s, op: op };
  }

  const cache = new Map();
  const x0 = { t: D.init.t, s: D.init.s, op: D.init.t.map(() => "k") };
  cache.set(0, x0);
  // The canvas at index i (0: x_0; i: after the i-th stored step).
  function canvasAt(i) {
    if (cache.has(i)) return cache.get(i);
    if (D.stride > 1) {
      const st = D.steps[i - 1];
      const x = advance({ t: st.b.t, s: st.b.s }, st);
      cache.set(i, x);
      return x;
    }
    let j = i;
    while (!cache.has(j)) j--;
    let x = cache.get(j);
    while (j < i) {
      x = advance(x, D.steps[j]);
      j++;
      if (j % 256 === 0 || j === i) cache.set(j, x);
    }
    return x;
  }

  function stepNumber(i) { return i === 0 ? 0 : D.steps[i - 1].k; }
  function roundOf(i) {
    if (i > 0 && D.steps[i - 1].r !== null && D.steps[i - 1].r !== undefined) return D.steps[i - 1].r;
    if (i === 0 && D.steps.length === 0 && D.rounds.length > 0) return D.rounds[0].round;
    return null;
  }

  // Static parts.
  $("title").textContent = D.title + (D.class ? " \u2014 " + D.class : "") +
    (D.seed !== null && D.seed !== undefined ? ", seed " + D.seed : "");
  document.title = D.title;
  if (D.stride > 1) {
    const p = $("sampled");
    p.hidden = false;
    p.textContent = "Sampled: " + S + " of " + D.total_steps + " steps are stored (every " +
      D.stride + "th, and the last), each with the canvas before it; the trace has " +
      D.total_steps + " steps over up to " + Math.max.apply(null, D.lengths) +
      " positions, past what one page holds step by step.";
  }
  const src = $("source");
  if (D.source) {
    D.source.split("\n").forEach((text, n) => {
      const li = document.createElement("li");
      li.dataset.line = String(n + 1);
      li.textContent = text;
      src.appendChild(li);
    });
  } else {
    src.parentElement.querySelector("h2").textContent = "program (no source in this trace)";
  }
  $("steps").textContent = String(D.total_steps);
  $("peak-all").textContent = String(peakSoFar[peakSoFar.length - 1] || 0);
  $("bound").textContent = D.bound ? "steps \u2264 " + D.bound.steps + ", context \u2264 " + D.bound.context : "-";
  const slider = $("slider");
  slider.max = String(S);

  // The context plot: at most 600 columns, each the largest length it covers.
  const svg = $("plot");
  const W = 600, H = 90, N = D.lengths.length;
  const top = Math.max(1, peakSoFar[N - 1] || 1, D.bound ? D.bound.context : 0);
  // The y axis runs from just under the shortest canvas to the peak or the bound.
  const lo = Math.max(0, Math.min.apply(null, D.lengths.length ? D.lengths : [0]) - 1);
  const yOf = (v) => (H - 4 - (v - lo) * (H - 8) / Math.max(1, top - lo)).toFixed(1);
  const ns = "http://www.w3.org/2000/svg";
  const cols = Math.min(W, N);
  let pts = "";
  for (let c = 0; c < cols; c++) {
    const a = Math.floor(c * N / cols), b = Math.max(a + 1, Math.floor((c + 1) * N / cols));
    let v = 0;
    for (let q = a; q < b; q++) v = Math.max(v, D.lengths[q]);
    pts += (cols === 1 ? 0 : c * (W - 1) / (cols - 1)).toFixed(1) + "," + yOf(v) + " ";
  }
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", pts.trim());
  line.setAttribute("fill", "none");
  line.setAttribute("stroke", "#2563eb");
  svg.appendChild(line);
  if (D.bound) {
    const y = yOf(D.bound.context);
    const b = document.createElementNS(ns, "line");
    b.setAttribute("x1", "0"); b.setAttribute("x2", String(W));
    b.setAttribute("y1", y); b.setAttribute("y2", y);
    b.setAttribute("stroke", "#dc2626"); b.setAttribute("stroke-dasharray", "4 3");
    svg.appendChild(b);
  }
  const marker = document.createElementNS(ns, "line");
  marker.setAttribute("id", "plot-marker");
  marker.setAttribute("y1", "0"); marker.setAttribute("y2", String(H));
  marker.setAttribute("stroke", "#111");
  svg.appendChild(marker);

  function table(head, rows) {
    let h = "<table><tr>" + head.map((x) => "<th>" + x + "</th>").join("") + "</tr>";
    for (const r of rows) h += "<tr>" + r.map((x) => "<td>" + x + "</td>").join("") + "</tr>";
    return h + "</table>";
  }

  function showRound(r) {
    const panel = $("pram");
    $("pram-round").textContent = r === null ? "-" : String(r);
    for (const li of src.querySelectorAll("li.current")) li.classList.remove("current");
    const rec = r === null ? undefined : rounds.get(r);
    if (!rec) {
      panel.textContent = r === null ? "No PRAM round for this step." : "No record of round " + r + " in this trace.";
      return;
    }
    const li = src.querySelector('li[data-line="' + rec.line + '"]');
    if (li) { li.classList.add("current"); li.scrollIntoView({ block: "nearest" }); }
    let h = "<p>line <b id=\"pram-line\">" + rec.line + "</b>, <b id=\"pram-active\">" + rec.active +
      "</b> active processors" + (rec.failed ? ", <b>failed</b> (fault or violation)" : "") +
      (rec.space !== null && rec.space !== undefined ? ", " + rec.space + " cells in use" : "") + "</p>";
    if (rec.registers.length) {
      h += "<p>registers: " + rec.registers.map((v, q) => (D.registers[q] || "r" + q) + " = " + v).join(", ") + "</p>";
    }
    h += "<p>reads (" + rec.nreads + ")</p>" + table(["proc", "addr", "value", "line"], rec.reads);
    if (rec.nreads > rec.reads.length) h += "<p>and " + (rec.nreads - rec.reads.length) + " more</p>";
    h += "<p>writes (" + rec.nwrites + ")</p>" + table(["proc", "addr", "value", "line"], rec.writes);
    if (rec.nwrites > rec.writes.length) h += "<p>and " + (rec.nwrites - rec.writes.length) + " more</p>";
    panel.innerHTML = h;
  }

  let index = 0;
  function show(i) {
    i = Math.max(0, Math.min(S, i));
    index = i;
    const x = canvasAt(i);
    const k = stepNumber(i);
    const st = i > 0 ? D.steps[i - 1] : null;
    const L = x.t.length;
    $("step").textContent = String(k);
    $("canvas-k").textContent = String(k);
    const r = roundOf(i);
    $("round").textContent = r === null ? "-" : String(r);
    $("phase").textContent = st && st.p ? st.p : "-";
    $("context").textContent = String(L);
    $("peak").textContent = String(peakSoFar[k]);
    $("counts").textContent = st ? "this step: " + st.c[0] + " unmask, " + st.c[1] + " remask, " + st.c[2] +
      " hold, " + st.c[3] + " insert, " + st.c[4] + " delete, " + st.c[5] + " keep" : "initial canvas";
    slider.value = String(i);
    const cv = $("canvas");
    const frag = document.createDocumentFragment();
    for (let p = 0; p < L; p++) {
      const op = i === 0 ? "x" : x.op[p];
      const d = document.createElement("div");
      const g = role(p, L);
      d.className = "cell op-" + op + (x.t[p] < 0 ? " mask" : "") + (g ? " role-" + g : "") +
        (i > 0 && (op === "u" || op === "r" || op === "i") ? " changed" : "");
      d.dataset.pos = String(p);
      d.dataset.op = OPS[op];
      const serves = D.texts[x.s[p]] || "";
      d.title = "position " + p + (g ? ", " + g : "") + (serves ? ": " + serves : "") + " (" + OPS[op] + ")";
      const t = document.createElement("span");
      t.className = "t";
      t.textContent = x.t[p] < 0 ? "M" : D.texts[x.t[p]];
      const o = document.createElement("span");
      o.className = "o";
      o.textContent = OPS[op];
      const s = document.createElement("span");
      s.className = "s";
      s.textContent = g;
      d.appendChild(t); d.appendChild(o); d.appendChild(s);
      frag.appendChild(d);
    }
    cv.replaceChildren(frag);
    const mx = N <= 1 ? 0 : k * (W - 1) / (N - 1);
    marker.setAttribute("x1", mx.toFixed(1));
    marker.setAttribute("x2", mx.toFixed(1));
    showRound(r);
  }

  $("first").addEventListener("click", () => show(0));
  $("prev").addEventListener("click", () => show(index - 1));
  $("next").addEventListener("click", () => show(index + 1));
  $("last").addEventListener("click", () => show(S));
  slider.addEventListener("input", () => show(Number(slider.value)));
  function jump() {
    const want = Number($("round-input").value);
    for (let i = 1; i <= S; i++) {
      const r = D.steps[i - 1].r;
      if (r !== null && r !== undefined && r >= want) { show(i); return; }
    }
  }
  $("jump").addEventListener("click", jump);
  document.addEventListener("keydown", (e) => {
    if (e.target === slider) return;
    if (e.target && e.target.tagName === "INPUT" && e.target.type === "number") {
      if (e.key === "Enter") jump();
      return;
    }
    if (e.key === "ArrowRight") { show(index + 1); e.preventDefault(); }
    else if (e.key === "ArrowLeft") { show(index - 1); e.preventDefault(); }
    else if (e.key === "Home") { show(0); e.preventDefault(); }
    else if (e.key === "End") { show(S); e.preventDefault(); }
  });
  window.apmdmViewer = { show: show, index: () => index, steps: S };
  show(0);
})();
