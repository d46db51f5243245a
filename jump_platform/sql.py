"""Building SQL safely: identifiers are quoted here, values travel as bound parameters.

No name that comes from outside the code (a file's header, a file or table name, run config, an
environment variable) may reach SQL as it is: `quote_identifier` wraps it in double quotes and
doubles any double quote inside, so it can only ever be read as one name. Values are never
formatted into SQL at all: pass them as parameters (`con.execute(sql, [value])`).
"""

from __future__ import annotations


def quote_identifier(name: str) -> str:
    """`name` as one DuckDB (or SQLite) identifier: `x"y` becomes `"x""y"`.

    Refuses a NUL character, which no engine accepts inside a name.
    """
    if "\x00" in name:
        raise ValueError(f"an SQL identifier cannot contain a NUL character: {short_repr(name)}")
    return '"' + name.replace('"', '""') + '"'


def qualified(*parts: str) -> str:
    """A quoted dotted name, e.g. `qualified("sources", "app__users")` -> `"sources"."app__users"`."""
    return ".".join(quote_identifier(part) for part in parts)


def string_literal(text: str) -> str:
    """`text` as one SQL string literal, for the few statements that take no parameter (DuckDB's
    ATTACH of a path): `it's` becomes `'it''s'`. Refuses a NUL character, as `quote_identifier` does."""
    if "\x00" in text:
        raise ValueError(f"an SQL string cannot contain a NUL character: {short_repr(text)}")
    return "'" + text.replace("'", "''") + "'"


def short_repr(value: object, limit: int = 40) -> str:
    """An escaped excerpt of a value for an error message: its repr, cut to about `limit` characters.

    Newlines and control characters come out escaped, so a hostile value cannot forge log lines,
    and a huge one cannot flood an error file.
    """
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
