// Span editor for one sentence: click or drag over tokens to select, keys 1-9 label the
// selection, Backspace/Delete remove the span under it, Enter confirms, S skips, Z undoes.
// Every piece of user text is written with textContent, never innerHTML.

const STATE_KEY = "__recipeNerSpanEditor";

function clone(spans) {
  return spans.map((s) => ({ ...s }));
}

function tokenRangeOfSpan(tokens, span) {
  let first = -1;
  let last = -1;
  tokens.forEach((t, i) => {
    if (t.start >= span.start && t.end <= span.end) {
      if (first < 0) first = i;
      last = i;
    }
  });
  return first < 0 ? null : { a: first, b: last };
}

function spanAtToken(spans, token) {
  return spans.find((s) => s.start <= token.start && token.end <= s.end) || null;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function freshState(data) {
  return {
    key: data.sentence_key,
    nonce: data.nonce,
    spans: clone(data.spans || []),
    history: [],
    sel: null,
    drag: null,
    pending: false,
    focused: false,
  };
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  if (!data) return;
  let state = parentElement[STATE_KEY];
  if (!state || state.key !== data.sentence_key || state.nonce !== data.nonce) {
    state = freshState(data);
    parentElement[STATE_KEY] = state;
  }
  const tokens = data.tokens || [];
  const labels = data.labels || [];
  const colors = Object.fromEntries(labels.map((l) => [l.name, l.color]));

  let root = parentElement.querySelector(".ner-editor");
  if (!root) {
    root = el("div", "ner-editor");
    root.tabIndex = 0;
    root.setAttribute("role", "application");
    root.setAttribute("aria-label", "Span editor: select tokens, press 1 to 9 to label, Enter to confirm");
    parentElement.appendChild(root);
  }

  const selection = () => {
    if (!state.sel) return null;
    return { a: Math.min(state.sel.a, state.sel.b), b: Math.max(state.sel.a, state.sel.b) };
  };

  const edit = (change) => {
    if (state.pending) return;
    state.history.push(clone(state.spans));
    state.spans = change(state.spans).sort((x, y) => x.start - y.start);
    render();
  };

  const assign = (label) => {
    const sel = selection();
    if (!sel || !tokens.length) return;
    const start = tokens[sel.a].start;
    const end = tokens[sel.b].end;
    edit((spans) => [
      ...spans.filter((s) => s.end <= start || s.start >= end),
      { start, end, label, suggested: false, confidence: null },
    ]);
  };

  const removeUnderSelection = () => {
    const sel = selection();
    if (!sel) return;
    const start = tokens[sel.a].start;
    const end = tokens[sel.b].end;
    if (!state.spans.some((s) => s.start < end && s.end > start)) return;
    edit((spans) => spans.filter((s) => s.end <= start || s.start >= end));
  };

  const send = (type) => {
    if (state.pending) return;
    state.pending = true;
    render();
    setTriggerValue("action", {
      type,
      sentence_key: state.key,
      spans: state.spans.map(({ start, end, label }) => ({ start, end, label })),
    });
  };

  const undo = () => {
    if (state.pending) return;
    if (state.history.length) {
      state.spans = state.history.pop();
      render();
    } else {
      send("undo");
    }
  };

  const moveSelection = (delta, extend) => {
    if (!tokens.length) return;
    if (!state.sel) {
      state.sel = { a: 0, b: 0 };
    } else if (extend) {
      state.sel.b = Math.max(0, Math.min(tokens.length - 1, state.sel.b + delta));
    } else {
      const next = Math.max(0, Math.min(tokens.length - 1, state.sel.b + delta));
      state.sel = { a: next, b: next };
    }
    paintSelection();
  };

  function paintSelection() {
    const sel = selection();
    root.querySelectorAll(".ner-tok").forEach((node) => {
      const i = Number(node.dataset.i);
      node.classList.toggle("selected", !!sel && i >= sel.a && i <= sel.b);
    });
    const status = root.querySelector(".ner-status");
    if (status) status.textContent = statusText();
  }

  function statusText() {
    if (state.pending) return "Saving…";
    const sel = selection();
    const suggested = state.spans.filter((s) => s.suggested).length;
    const parts = [`${state.spans.length} span${state.spans.length === 1 ? "" : "s"}`];
    if (suggested) parts.push(`${suggested} suggested`);
    if (sel) parts.push(`selected: “${data.text.slice(tokens[sel.a].start, tokens[sel.b].end)}”`);
    else parts.push("click or drag over words to select");
    return parts.join(" · ");
  }

  function renderLegend() {
    const legend = el("div", "ner-legend");
    labels.forEach((l, i) => {
      const button = el("button", "ner-label-btn");
      button.type = "button";
      button.dataset.label = l.name;
      button.style.setProperty("--c", l.color);
      button.appendChild(el("kbd", "", String(i + 1)));
      button.appendChild(el("span", "", l.name));
      button.title = `Label the selection ${l.name} (key ${i + 1})`;
      button.addEventListener("mousedown", (e) => e.preventDefault());
      button.addEventListener("click", () => assign(l.name));
      legend.appendChild(button);
    });
    return legend;
  }

  function renderText() {
    const line = el("div", "ner-text");
    line.setAttribute("data-testid", "ner-text");
    let pos = 0;
    let i = 0;
    while (i < tokens.length) {
      const tok = tokens[i];
      if (tok.start > pos) line.appendChild(document.createTextNode(data.text.slice(pos, tok.start)));
      const span = spanAtToken(state.spans, tok);
      if (!span) {
        line.appendChild(renderToken(i));
        pos = tok.end;
        i += 1;
        continue;
      }
      const mark = el("span", span.suggested ? "ner-span suggested" : "ner-span confirmed");
      mark.style.setProperty("--c", colors[span.label] || "#ddd");
      mark.dataset.label = span.label;
      let inner = tok.start;
      while (i < tokens.length && tokens[i].end <= span.end) {
        if (tokens[i].start > inner) mark.appendChild(document.createTextNode(data.text.slice(inner, tokens[i].start)));
        mark.appendChild(renderToken(i));
        inner = tokens[i].end;
        i += 1;
      }
      let chipText = span.label;
      if (span.suggested && span.confidence !== null && span.confidence !== undefined) {
        chipText += ` ${Math.round(span.confidence * 100)}%`;
        if (span.confidence < data.low_confidence) mark.classList.add("low");
        mark.title = `Model suggestion: ${span.label}, confidence ${Math.round(span.confidence * 100)}%`;
      }
      mark.appendChild(el("span", "ner-chip", chipText));
      line.appendChild(mark);
      pos = inner;
    }
    if (pos < data.text.length) line.appendChild(document.createTextNode(data.text.slice(pos)));
    return line;
  }

  function renderToken(i) {
    const tok = tokens[i];
    const node = el("span", "ner-tok", data.text.slice(tok.start, tok.end));
    node.dataset.i = String(i);
    return node;
  }

  function renderActions() {
    const bar = el("div", "ner-actions");
    const addButton = (text, title, onClick, cls) => {
      const b = el("button", `ner-action ${cls}`, text);
      b.type = "button";
      b.title = title;
      b.addEventListener("mousedown", (e) => e.preventDefault());
      b.addEventListener("click", onClick);
      bar.appendChild(b);
    };
    addButton("✓ Confirm", "Confirm these spans and go to the next sentence (Enter)", () => send("confirm"), "primary");
    addButton("Skip", "Skip this sentence (S)", () => send("skip"), "");
    addButton("↶ Undo", "Undo the last change (Z or Ctrl+Z)", undo, "");
    bar.appendChild(el("span", "ner-status", statusText()));
    return bar;
  }

  function render() {
    root.replaceChildren(renderLegend(), renderText(), renderActions());
    root.classList.toggle("pending", state.pending);
    paintSelection();
  }

  const onMouseDown = (e) => {
    const tok = e.target.closest(".ner-tok");
    if (!tok || e.button !== 0) return;
    e.preventDefault();
    root.focus({ preventScroll: true });
    const i = Number(tok.dataset.i);
    state.drag = { anchor: i, moved: false };
    state.sel = e.shiftKey && state.sel ? { a: state.sel.a, b: i } : { a: i, b: i };
    paintSelection();
  };
  const onMouseOver = (e) => {
    if (!state.drag) return;
    const tok = e.target.closest(".ner-tok");
    if (!tok) return;
    const i = Number(tok.dataset.i);
    if (i !== state.sel.b) {
      state.sel.b = i;
      state.drag.moved = true;
      paintSelection();
    }
  };
  const onMouseUp = () => {
    if (!state.drag) return;
    const { anchor, moved } = state.drag;
    state.drag = null;
    if (!moved) {
      const span = spanAtToken(state.spans, tokens[anchor]);
      const range = span && tokenRangeOfSpan(tokens, span);
      if (range) state.sel = range;
    }
    paintSelection();
  };
  const onKeyDown = (e) => {
    const key = e.key;
    const mod = e.ctrlKey || e.metaKey;
    let handled = true;
    if (!mod && !e.altKey && /^[1-9]$/.test(key) && Number(key) <= labels.length) {
      assign(labels[Number(key) - 1].name);
    } else if (key === "Backspace" || key === "Delete") {
      removeUnderSelection();
    } else if (key === "Enter") {
      send("confirm");
    } else if (!mod && (key === "s" || key === "S")) {
      send("skip");
    } else if (key === "z" || key === "Z") {
      undo();
    } else if (key === "ArrowRight" || key === "ArrowLeft") {
      moveSelection(key === "ArrowRight" ? 1 : -1, e.shiftKey);
    } else if (key === "Escape") {
      state.sel = null;
      paintSelection();
    } else {
      handled = false;
    }
    if (handled) {
      e.preventDefault();
      e.stopPropagation();
    }
  };

  root.addEventListener("mousedown", onMouseDown);
  root.addEventListener("mouseover", onMouseOver);
  root.addEventListener("keydown", onKeyDown);
  window.addEventListener("mouseup", onMouseUp);
  render();
  if (!state.focused && data.autofocus) {
    state.focused = true;
    root.focus({ preventScroll: true });
  }

  return () => {
    root.removeEventListener("mousedown", onMouseDown);
    root.removeEventListener("mouseover", onMouseOver);
    root.removeEventListener("keydown", onKeyDown);
    window.removeEventListener("mouseup", onMouseUp);
  };
}
