"""Reading JSONata source text without parsing it: what is code, and which brackets pair up.

The editor, completion and selection evaluation all need to skip strings and comments; this is
the one place that knows where they are.
"""

from __future__ import annotations

__all__ = ["CLOSE", "OPEN", "Brackets", "bracket_partner", "code_mask", "open_brackets"]

OPEN = "([{"
CLOSE = ")]}"


def code_mask(text: str) -> list[bool]:
    """For each character, ``True`` when it is code (not inside a string or a comment)."""
    mask = [True] * len(text)
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c in "\"'`":
            end = i + 1
            while end < n and text[end] != c and (c == "`" or text[end] != "\n"):
                end += 2 if text[end] == "\\" and c != "`" else 1
            end = min(end + 1, n)
            for j in range(i, end):
                mask[j] = False
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            for j in range(i, end):
                mask[j] = False
            i = end
        else:
            i += 1
    return mask


def bracket_partner(text: str, position: int, mask: list[bool] | None = None) -> int | None:
    """The offset of the bracket matching the one at ``position``, or ``None``.

    Brackets inside strings and comments are ignored, and so is the bracket at ``position``
    when it is itself inside one.
    """
    if not 0 <= position < len(text):
        return None
    mask = mask if mask is not None else code_mask(text)
    char = text[position]
    if not mask[position] or (char not in OPEN and char not in CLOSE):
        return None
    if char in OPEN:
        partner, step, stop = CLOSE[OPEN.index(char)], 1, len(text)
    else:
        partner, step, stop = OPEN[CLOSE.index(char)], -1, -1
    depth = 0
    for i in range(position, stop, step):
        if not mask[i]:
            continue
        if text[i] == char:
            depth += 1
        elif text[i] == partner:
            depth -= 1
            if depth == 0:
                return i
    return None


class Brackets:
    """Which brackets are open at each position of a text, found in one pass.

    Completion asks this for every binding above the cursor; walking the text again for each
    would make a long template cost quadratic time on every keystroke.
    """

    def __init__(self, text: str, mask: list[bool] | None = None) -> None:
        mask = mask if mask is not None else code_mask(text)
        #: ``inner[i]``: the innermost bracket still open just before offset ``i`` (-1: none).
        self._inner = [-1] * (len(text) + 1)
        stack: list[int] = []
        for i, c in enumerate(text):
            self._inner[i] = stack[-1] if stack else -1
            if not mask[i]:
                continue
            if c in OPEN:
                stack.append(i)
            elif c in CLOSE and stack and text[stack[-1]] == OPEN[CLOSE.index(c)]:
                stack.pop()
        self._inner[len(text)] = stack[-1] if stack else -1

    def open_at(self, position: int) -> list[int]:
        """Offsets of the brackets still open at ``position``, outermost first."""
        position = max(0, min(position, len(self._inner) - 1))
        found = []
        opener = self._inner[position]
        while opener != -1:
            found.append(opener)
            opener = self._inner[opener]
        found.reverse()
        return found


def open_brackets(text: str, position: int, mask: list[bool] | None = None) -> list[int]:
    """Offsets of the brackets still open at ``position``, outermost first."""
    return Brackets(text[:position], mask[:position] if mask is not None else None).open_at(
        position
    )
