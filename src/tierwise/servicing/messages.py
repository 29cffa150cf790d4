"""Message templates rendered in Jinja2's sandbox, one column of customers at a time.

Templates are Jinja2 text rendered in a :class:`~jinja2.sandbox.SandboxedEnvironment` with
``StrictUndefined`` (:func:`tierwise.config.servicing.template_environment`): no code runs, unsafe
attributes are refused, and a field the context lacks is an error naming the template and the
field. Every field value is text prepared by the caller (dates ISO, amounts formatted), and a
missing value (NULL) renders as an empty string.

Most templates are literal text with ``{{ field }}`` placeholders. For those the rendered
message is exactly the concatenation of the parts, so a whole column is rendered with one
vectorised Arrow string join instead of a template call per row (millions of customers); a
template with filters, conditions or loops is rendered row by row in the sandbox. Both paths
give the same text (a test checks it).

>>> import pyarrow as pa
>>> t = MessageTemplate("hi", "尊敬的{{ name }}，您的{{ product }}将到期", kind="maturity")
>>> t.render_column({"name": pa.array(["张三", None]), "product": pa.array(["理财A", "存款B"])}, 2).to_pylist()
['尊敬的张三，您的理财A将到期', '尊敬的，您的存款B将到期']
>>> t.render(name="李四", product="基金C")
'尊敬的李四，您的基金C将到期'
"""

from __future__ import annotations

import jinja2
import jinja2.nodes as jn
import pyarrow as pa
import pyarrow.compute as pc

from tierwise.config.servicing import TEMPLATE_FIELDS, compiled_template, template_environment, template_fields
from tierwise.errors import PolicyError, did_you_mean


class MessageTemplate:
    """One template text of one kind of message (``kind`` decides the fields it may use)."""

    def __init__(self, name: str, text: str, *, kind: str, where: str = "servicing → templates"):
        self.name, self.text, self.kind, self.where = name, text, kind, where
        try:
            ast = template_environment().parse(text)
            self._template = compiled_template(text)
        except jinja2.TemplateSyntaxError as exc:
            raise PolicyError(f"{where} → {name}: template syntax error at line {exc.lineno}: {exc.message}") from None
        self.fields = template_fields(text)
        allowed = TEMPLATE_FIELDS[kind]
        for f in sorted(self.fields - allowed):
            hint = did_you_mean(f, allowed)
            raise PolicyError(f"{where} → {name}: field '{f}' is not available in {kind} messages"
                              + (f"; {hint}" if hint else f"; available: {', '.join(sorted(allowed))}"))
        self._parts = _simple_parts(ast)

    @property
    def simple(self) -> bool:
        """True when the template is only text and ``{{ field }}`` placeholders (vectorised path)."""
        return self._parts is not None

    def render(self, **values: str | None) -> str:
        """Render one message; a field missing from ``values`` is a located error."""
        missing = sorted(self.fields - set(values))
        if missing:
            raise PolicyError(f"{self.where} → {self.name}: field '{missing[0]}' has no value in this {self.kind} "
                              f"message")
        try:
            return self._template.render(**{k: ("" if v is None else v) for k, v in values.items()})
        except jinja2.UndefinedError as exc:
            raise PolicyError(f"{self.where} → {self.name}: {exc.message}") from None
        except jinja2.exceptions.SecurityError as exc:
            raise PolicyError(f"{self.where} → {self.name}: refused by the sandbox: {exc}") from None

    def render_column(self, context: dict[str, pa.Array], n: int) -> pa.Array:
        """Render ``n`` messages from columns of text (one array of length ``n`` per field)."""
        missing = sorted(self.fields - set(context))
        if missing:
            raise PolicyError(f"{self.where} → {self.name}: field '{missing[0]}' has no value in {self.kind} messages")
        if n == 0:
            return pa.array([], pa.string())
        if self._parts is not None:
            pieces = []
            for is_field, value in self._parts:
                if is_field:
                    pieces.append(pc.fill_null(pc.cast(context[value], pa.string()), ""))
                else:
                    pieces.append(pa.scalar(value, pa.string()))
            if not any(isinstance(p, pa.Array | pa.ChunkedArray) for p in pieces):
                return pa.array([self.text] * n, pa.string())
            out = pc.binary_join_element_wise(*pieces, "")
            return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out
        cols = {f: context[f].to_pylist() for f in self.fields}
        return pa.array([self.render(**{f: cols[f][i] for f in self.fields}) for i in range(n)], pa.string())


def _simple_parts(ast: jn.Template) -> list[tuple[bool, str]] | None:
    """[(is_field, text or field name)] if the template is text and plain placeholders only."""
    parts: list[tuple[bool, str]] = []
    for node in ast.body:
        if not isinstance(node, jn.Output):
            return None
        for child in node.nodes:
            if isinstance(child, jn.TemplateData):
                parts.append((False, child.data))
            elif isinstance(child, jn.Name) and child.ctx == "load":
                parts.append((True, child.name))
            else:
                return None
    return parts
