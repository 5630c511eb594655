"""Reading pages in tests with the standard library: the text of an element by id, and the
rows of a table by id as (tag, data-status, text) cells."""

from __future__ import annotations

from html.parser import HTMLParser

_VOID = {"br", "img", "input", "meta", "link", "hr", "col", "source", "wbr"}


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[tuple[str, str | None]] = []  # (tag, id) of open elements
        self.texts: dict[str, list[str]] = {}
        self.capturing: list[str] = []  # ids whose text is being collected
        self.tables: dict[str, list[list[tuple[str, str, str]]]] = {}
        self.table: str | None = None
        self.in_body = False
        self.cell: tuple[str, str] | None = None
        self.cell_text: list[str] = []
        self.statuses: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        element_id = values.get("id")
        if tag not in _VOID:
            self.open.append((tag, element_id))
        if element_id:
            self.texts.setdefault(element_id, [])
            self.statuses.setdefault(element_id, [])
            self.capturing.append(element_id)
        if values.get("data-status"):
            for open_id in self.capturing:
                self.statuses[open_id].append(str(values["data-status"]))
        if tag == "table" and element_id:
            self.table = element_id
            self.tables[element_id] = []
        elif tag == "tbody" and self.table:
            self.in_body = True
        elif tag == "tr" and self.table and self.in_body:
            self.tables[self.table].append([])
        elif tag in ("td", "th") and self.table and self.in_body:
            self.cell = (tag, values.get("data-status") or "")
            self.cell_text = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None and self.table:
            text = " ".join("".join(self.cell_text).split())
            self.tables[self.table][-1].append((self.cell[0], self.cell[1], text))
            self.cell = None
        elif tag == "tbody":
            self.in_body = False
        elif tag == "table":
            self.table = None
        while self.open:
            open_tag, open_id = self.open.pop()
            if open_id and open_id in self.capturing:
                self.capturing.remove(open_id)
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for open_id in self.capturing:
            self.texts[open_id].append(data)
        if self.cell is not None:
            self.cell_text.append(data)


class Page:
    def __init__(self, html: bytes | str) -> None:
        parser = _Page()
        parser.feed(html.decode() if isinstance(html, bytes) else html)
        self._parser = parser

    def has(self, element_id: str) -> bool:
        return element_id in self._parser.texts

    def text(self, element_id: str) -> str:
        assert element_id in self._parser.texts, f"no element #{element_id}"
        return " ".join("".join(self._parser.texts[element_id]).split())

    def statuses(self, element_id: str) -> list[str]:
        """data-status values of the element's descendants (and itself), in order."""
        return list(self._parser.statuses.get(element_id, []))

    def rows(self, table_id: str) -> list[list[tuple[str, str, str]]]:
        assert table_id in self._parser.tables, f"no table #{table_id}"
        return self._parser.tables[table_id]

    def by_header(self, table_id: str) -> dict[str, list[str]]:
        """Row header text -> the texts of the row's other cells."""
        return {row[0][2]: [c[2] for c in row[1:]] for row in self.rows(table_id)}

    def tables(self) -> list[str]:
        return list(self._parser.tables)
