"""Reading a report back: the ``data-key`` figures, external references, scripts and section ids."""

from __future__ import annotations

from html.parser import HTMLParser


class ReportParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.values: dict[str, str] = {}
        self.external: list[str] = []
        self.sections: list[str] = []
        self.scripts = 0
        self.big_scripts = 0
        self.text: list[str] = []
        self._in_script = False
        self._script_len = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("data-key"):
            self.values[a["data-key"]] = a.get("data-value", "")
        for attr in ("src", "href"):
            v = a.get(attr) or ""
            if v.startswith(("http:", "https:", "//")):
                self.external.append(f"{tag} {attr}={v}")
        if tag == "link" and a.get("rel") == "stylesheet":
            self.external.append(f"link {a.get('href')}")
        if tag == "section":
            self.sections.append(a.get("id"))
        if tag == "script":
            self.scripts += 1
            self._in_script, self._script_len = True, 0

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False
            if self._script_len > 1_000_000:
                self.big_scripts += 1

    def handle_data(self, data):
        if self._in_script:
            self._script_len += len(data)
        else:
            self.text.append(data)


def parse(html: str) -> ReportParser:
    p = ReportParser()
    p.feed(html)
    return p
