// A small, safe Markdown renderer for the ductor chat page.
//
// It builds DOM nodes directly (createElement + textContent): no HTML string is ever
// parsed, so text from the model cannot become markup. Links keep only http(s) URLs.
// Supported: fenced code blocks, inline code, headings, bold, italics, strikethrough,
// links and bare URLs, bullet and numbered lists (nested by indentation), block quotes,
// tables and horizontal rules. An unclosed code fence (a streaming answer) runs to the end.
(function (global) {
  'use strict';

  const MAX_DEPTH = 6;
  const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$/;
  // Linear: the closing #s and spaces are taken off by hand (a lazy group between
  // two \s* could backtrack cubically on a long line of spaces).
  const HEADING = /^ {0,3}(#{1,6})[ \t]+(.*)$/;

  // A heading's text without its closing #s (only when they stand apart).
  function headingText(text) {
    let s = text.trimEnd();
    let j = s.length;
    while (j > 0 && s[j - 1] === '#') j -= 1;
    if (j < s.length && (j === 0 || s[j - 1] === ' ' || s[j - 1] === '\t')) s = s.slice(0, j).trimEnd();
    return s;
  }
  const RULE = /^ {0,3}([-*_])(?:\s*\1){2,}\s*$/;
  const QUOTE = /^ {0,3}> ?(.*)$/;
  const ITEM = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/;
  const TABLE_SEP = /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/;
  const URL_START = /^https?:\/\//i;
  const BARE_URL = /^https?:\/\/[^\s<>"]+/i;
  const ESCAPABLE = '\\`*_{}[]()#+-.!~|>';

  function el(tag, text) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // Only absolute http(s) URLs become links; anything else stays text.
  function safeUrl(raw) {
    const url = raw.trim();
    if (!URL_START.test(url)) return null;
    try {
      const parsed = new URL(url);
      return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : null;
    } catch (_) {
      return null;
    }
  }

  function link(href, label) {
    const a = el('a');
    a.href = href;
    a.target = '_blank';
    a.rel = 'noopener noreferrer nofollow';
    if (typeof label === 'string') a.textContent = label;
    else a.appendChild(label);
    return a;
  }

  function indent(line) {
    let n = 0;
    for (const c of line) {
      if (c === ' ') n += 1;
      else if (c === '\t') n += 4;
      else break;
    }
    return n;
  }

  // ---- inline ----

  function isSpace(c) {
    return c === undefined || /\s/.test(c);
  }

  function isWord(c) {
    return c !== undefined && /[\p{L}\p{N}]/u.test(c);
  }

  // Where the closing delimiter `delim` of an emphasis opened at `from` is, or -1.
  function closing(text, delim, from, memo) {
    if (memo[delim] !== undefined && memo[delim] <= from) return -1;
    let j = text.indexOf(delim, from);
    while (j !== -1) {
      // A run longer than the delimiter closes at its end (`***x***`).
      while (text[j + delim.length] === delim[0]) j += 1;
      const before = text[j - 1];
      const after = text[j + delim.length];
      const flanking = !isSpace(before) && j > from;
      const wordOk = delim[0] !== '_' || !isWord(after);
      if (flanking && wordOk) return j;
      j = text.indexOf(delim, j + delim.length);
    }
    memo[delim] = from;
    return -1;
  }

  function parseLink(text, i) {
    // [label](url) with balanced brackets in the label and no spaces in the url.
    let depth = 0;
    let j = i;
    for (; j < text.length; j += 1) {
      const c = text[j];
      if (c === '\\') j += 1;
      else if (c === '[') depth += 1;
      else if (c === ']') {
        depth -= 1;
        if (depth === 0) break;
      }
    }
    if (j >= text.length || text[j + 1] !== '(') return null;
    const close = text.indexOf(')', j + 2);
    if (close === -1) return null;
    const target = text.slice(j + 2, close).trim().split(/\s+/)[0] || '';
    return { label: text.slice(i + 1, j), target: target.replace(/^<|>$/g, ''), end: close + 1 };
  }

  function bareUrl(text, i) {
    const m = BARE_URL.exec(text.slice(i));
    if (!m) return null;
    let url = m[0];
    // Trailing punctuation belongs to the sentence; a ')' only when unbalanced.
    for (;;) {
      const last = url[url.length - 1];
      if ('.,;:!?\'"*_'.includes(last)) url = url.slice(0, -1);
      else if (last === ')' && (url.split('(').length < url.split(')').length)) url = url.slice(0, -1);
      else break;
    }
    return url;
  }

  function inline(text, parent, depth, noLinks) {
    if (depth > MAX_DEPTH) {
      parent.appendChild(document.createTextNode(text));
      return;
    }
    const memo = {};
    let buf = '';
    const flush = () => {
      if (buf) parent.appendChild(document.createTextNode(buf));
      buf = '';
    };
    let i = 0;
    while (i < text.length) {
      const c = text[i];
      if (c === '\\' && i + 1 < text.length && ESCAPABLE.includes(text[i + 1])) {
        buf += text[i + 1];
        i += 2;
        continue;
      }
      if (c === '`') {
        let n = 1;
        while (text[i + n] === '`') n += 1;
        const ticks = '`'.repeat(n);
        let end = text.indexOf(ticks, i + n);
        while (end !== -1 && text[end + n] === '`') end = text.indexOf(ticks, end + n + 1);
        if (end === -1) {
          buf += ticks;
          i += n;
          continue;
        }
        flush();
        let code = text.slice(i + n, end);
        if (code.length > 1 && code.startsWith(' ') && code.endsWith(' ')) code = code.slice(1, -1);
        parent.appendChild(el('code', code));
        i = end + n;
        continue;
      }
      if (c === '[' && !noLinks) {
        const parsed = parseLink(text, i);
        if (parsed) {
          flush();
          const href = safeUrl(parsed.target);
          if (href) {
            const label = document.createDocumentFragment();
            inline(parsed.label, label, depth + 1, true);
            parent.appendChild(link(href, label));
          } else {
            // Not a web link (javascript:, data:, relative...): show it as text.
            inline(parsed.label, parent, depth + 1, true);
            parent.appendChild(document.createTextNode(' (' + parsed.target + ')'));
          }
          i = parsed.end;
          continue;
        }
      }
      if (c === '<' && !noLinks) {
        const end = text.indexOf('>', i);
        const href = end === -1 ? null : safeUrl(text.slice(i + 1, end));
        if (href && !/\s/.test(text.slice(i + 1, end))) {
          flush();
          parent.appendChild(link(href, text.slice(i + 1, end)));
          i = end + 1;
          continue;
        }
      }
      if ((c === 'h' || c === 'H') && !noLinks && !isWord(text[i - 1])) {
        const url = bareUrl(text, i);
        const href = url && safeUrl(url);
        if (href) {
          flush();
          parent.appendChild(link(href, url));
          i += url.length;
          continue;
        }
      }
      if (c === '*' || c === '_' || c === '~') {
        const double = text[i + 1] === c;
        const delim = double ? c + c : c;
        const leftOk = !isSpace(text[i + delim.length]) && (c !== '_' || !isWord(text[i - 1]));
        if ((c !== '~' || double) && leftOk) {
          const end = closing(text, delim, i + delim.length, memo);
          if (end !== -1) {
            flush();
            const tag = c === '~' ? 'del' : double ? 'strong' : 'em';
            const node = el(tag);
            inline(text.slice(i + delim.length, end), node, depth + 1, noLinks);
            parent.appendChild(node);
            i = end + delim.length;
            continue;
          }
        }
        buf += delim;
        i += delim.length;
        continue;
      }
      buf += c;
      i += 1;
    }
    flush();
  }

  // Lines joined with line breaks (a chat keeps the writer's line breaks).
  function inlineLines(lines, parent, depth) {
    lines.forEach((line, k) => {
      if (k > 0) parent.appendChild(el('br'));
      inline(line.trim(), parent, depth, false);
    });
  }

  // ---- blocks ----

  function splitRow(line) {
    let row = line.trim();
    if (row.startsWith('|')) row = row.slice(1);
    if (row.endsWith('|') && !row.endsWith('\\|')) row = row.slice(0, -1);
    const cells = [];
    let cell = '';
    let code = false;
    for (let i = 0; i < row.length; i += 1) {
      const c = row[i];
      if (c === '\\' && row[i + 1] === '|') {
        cell += '|';
        i += 1;
      } else if (c === '`') {
        code = !code;
        cell += c;
      } else if (c === '|' && !code) {
        cells.push(cell.trim());
        cell = '';
      } else cell += c;
    }
    cells.push(cell.trim());
    return cells;
  }

  function table(lines, start, parent, depth) {
    const head = splitRow(lines[start]);
    const align = splitRow(lines[start + 1]).map((s) =>
      s.startsWith(':') && s.endsWith(':') ? 'center' : s.endsWith(':') ? 'right' : '');
    const wrap = el('div');
    wrap.className = 'md-table';
    const tbl = el('table');
    const row = (cells, tag, into) => {
      const tr = el('tr');
      head.forEach((_, k) => {
        const td = el(tag);
        if (align[k]) td.className = 'align-' + align[k];
        inline(cells[k] || '', td, depth, false);
        tr.appendChild(td);
      });
      into.appendChild(tr);
    };
    const thead = el('thead');
    row(head, 'th', thead);
    tbl.appendChild(thead);
    const tbody = el('tbody');
    let i = start + 2;
    while (i < lines.length && lines[i].includes('|') && lines[i].trim() !== '') {
      row(splitRow(lines[i]), 'td', tbody);
      i += 1;
    }
    tbl.appendChild(tbody);
    wrap.appendChild(tbl);
    parent.appendChild(wrap);
    return i;
  }

  function list(lines, start, parent, depth) {
    const first = ITEM.exec(lines[start]);
    const base = indent(first[1]);
    const ordered = /\d/.test(first[2]);
    const node = el(ordered ? 'ol' : 'ul');
    if (ordered) {
      const n = parseInt(first[2], 10);
      if (n !== 1) node.start = n;
    }
    let i = start;
    while (i < lines.length) {
      const m = ITEM.exec(lines[i]);
      if (!m || indent(m[1]) !== base || /\d/.test(m[2]) !== ordered) break;
      const body = [m[3]];
      i += 1;
      // The item goes on while lines are indented past its marker, or lazily
      // continue its paragraph; a blank line followed by an indented line stays.
      while (i < lines.length) {
        const line = lines[i];
        if (line.trim() === '') {
          if (i + 1 < lines.length && indent(lines[i + 1]) > base && lines[i + 1].trim() !== '') {
            body.push('');
            i += 1;
            continue;
          }
          break;
        }
        const sub = ITEM.exec(line);
        if (indent(line) > base) body.push(line.slice(Math.min(indent(line), base + 2)));
        else if (!sub && !FENCE.test(line) && !HEADING.test(line) && !QUOTE.test(line)) body.push(line);
        else break;
        i += 1;
      }
      const li = el('li');
      blocks(body, li, depth + 1, true);
      node.appendChild(li);
    }
    parent.appendChild(node);
    return i;
  }

  function startsBlock(lines, i) {
    const line = lines[i];
    return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) ||
      ITEM.test(line) || (line.includes('|') && i + 1 < lines.length && TABLE_SEP.test(lines[i + 1]));
  }

  function blocks(lines, parent, depth, tight) {
    if (depth > MAX_DEPTH) {
      parent.appendChild(document.createTextNode(lines.join('\n')));
      return;
    }
    const start = parent.childNodes.length;
    let i = 0;
    while (i < lines.length) {
      const line = lines[i];
      if (line.trim() === '') {
        i += 1;
        continue;
      }
      const fence = FENCE.exec(line);
      if (fence) {
        const marker = fence[1];
        const body = [];
        i += 1;
        while (i < lines.length) {
          const t = lines[i].trim();
          if (t.startsWith(marker) && t.replace(new RegExp('^\\' + marker[0] + '+'), '') === '') break;
          body.push(lines[i]);
          i += 1;
        }
        i += 1;
        const pre = el('pre');
        const code = el('code', body.join('\n'));
        if (fence[2]) code.dataset.lang = fence[2];
        pre.appendChild(code);
        parent.appendChild(pre);
        continue;
      }
      const heading = HEADING.exec(line);
      if (heading) {
        const h = el('h' + Math.min(heading[1].length + 2, 6));
        inline(headingText(heading[2]), h, depth, false);
        parent.appendChild(h);
        i += 1;
        continue;
      }
      if (RULE.test(line)) {
        parent.appendChild(el('hr'));
        i += 1;
        continue;
      }
      if (QUOTE.test(line)) {
        const body = [];
        while (i < lines.length && QUOTE.test(lines[i])) {
          body.push(QUOTE.exec(lines[i])[1]);
          i += 1;
        }
        const q = el('blockquote');
        blocks(body, q, depth + 1, false);
        parent.appendChild(q);
        continue;
      }
      if (ITEM.test(line)) {
        i = list(lines, i, parent, depth);
        continue;
      }
      if (line.includes('|') && i + 1 < lines.length && TABLE_SEP.test(lines[i + 1])) {
        i = table(lines, i, parent, depth);
        continue;
      }
      const para = [line];
      i += 1;
      while (i < lines.length && lines[i].trim() !== '' && !startsBlock(lines, i)) {
        para.push(lines[i]);
        i += 1;
      }
      const p = el('p');
      inlineLines(para, p, depth);
      parent.appendChild(p);
    }
    // A list item's first paragraph shows its text without the paragraph box.
    const first = parent.childNodes[start];
    if (tight && first && first.nodeName === 'P') {
      while (first.firstChild) parent.insertBefore(first.firstChild, first);
      parent.removeChild(first);
    }
  }

  /** Renders Markdown `source` into a new DocumentFragment. */
  function render(source) {
    const fragment = document.createDocumentFragment();
    const text = String(source == null ? '' : source).replace(/\r\n?/g, '\n');
    blocks(text.split('\n'), fragment, 0, false);
    return fragment;
  }

  global.DuctorMarkdown = Object.freeze({ render, safeUrl });
})(window);
