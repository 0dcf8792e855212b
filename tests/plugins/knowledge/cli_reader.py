"""A test oracle: the crosslink CLI's own front matter reader, ported line for line.

``crosslink/src/knowledge/core.rs`` (``parse_frontmatter``, ``split_kv_or_bare``,
``parse_inline_array``, ``unquote``) reads pages with a small line parser, not YAML. The plugin
must write files that this reader understands exactly as the plugin itself reads them back.
"""

from __future__ import annotations


def unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
        return text[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if len(text) >= 2 and text.startswith("'") and text.endswith("'"):
        return text[1:-1]
    return text


def split_kv_or_bare(line: str) -> tuple[str, str] | None:
    if ": " in line:
        index = line.index(": ")
        return line[:index].strip(), line[index + 2 :].strip()
    if line.endswith(":"):
        return line[:-1].strip(), ""
    return None


def split_items(inner: str) -> list[str]:
    items, start, in_quotes, escaped = [], 0, False, False
    for index, char in enumerate(inner):
        if escaped:
            escaped = False
            continue
        if char == "\\" and in_quotes:
            escaped = True
        elif char == '"':
            in_quotes = not in_quotes
        elif char == "," and not in_quotes:
            items.append(inner[start:index])
            start = index + 1
    items.append(inner[start:])
    return items


def parse_inline_array(value: str) -> list[str] | None:
    value = value.strip()
    if value.startswith("[") and value.endswith("]"):
        inner = value[1:-1]
        if not inner.strip():
            return []
        return [unquote(item.strip()) for item in split_items(inner)]
    return None


def _empty_source() -> dict:
    return {"url": "", "title": "", "accessed_at": None}


def parse_frontmatter(content: str) -> dict | None:
    content = content.replace("\r\n", "\n").lstrip()
    if not content.startswith("---"):
        return None
    after = content[3:].lstrip("\r\n")
    end = after.find("\n---")
    if end < 0:
        return None
    result = {"title": "", "tags": [], "sources": [], "contributors": [], "created": "", "updated": ""}
    state = "top"
    source = _empty_source()

    def set_source_key(key: str, value: str) -> None:
        if key in ("url", "title"):
            source[key] = unquote(value)
        elif key == "accessed_at":
            source["accessed_at"] = unquote(value)

    def flush() -> None:
        nonlocal source
        if source["url"] or source["title"]:
            result["sources"].append(source)
        source = _empty_source()

    for line in after[:end].split("\n"):
        trimmed = line.strip()
        if not trimmed:
            continue
        top = not line.startswith((" ", "\t"))
        item = trimmed.startswith("- ")
        nested = line.startswith("    ") and not item and ": " in trimmed
        if top and (": " in trimmed or trimmed.endswith(":")):
            if state == "item":
                flush()
            pair = split_kv_or_bare(trimmed)
            if pair is None:
                return None
            key, value = pair
            state = "top"
            if key in ("title", "created", "updated"):
                result[key] = unquote(value)
            elif key in ("tags", "contributors"):
                inline = parse_inline_array(value)
                if inline is not None:
                    result[key] = inline
                elif value == "":
                    result[key] = []
                    state = key
            elif key == "sources":
                if value == "[]":
                    result["sources"] = []
                else:
                    state = "sources"
        elif state in ("tags", "contributors"):
            if item:
                result[state].append(unquote(trimmed[2:]))
        elif state in ("sources", "item"):
            if item:
                if state == "item":
                    flush()
                source = _empty_source()
                after_dash = trimmed[2:]
                if ": " in after_dash:
                    key, value = after_dash.split(": ", 1)
                    set_source_key(key.strip(), value.strip())
                state = "item"
            elif state == "item" and nested:
                key, value = trimmed.split(": ", 1)
                set_source_key(key.strip(), value.strip())
    flush()
    return result
