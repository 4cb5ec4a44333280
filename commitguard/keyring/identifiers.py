"""Person ids, forge ids and forge logins that a reader could mistake for one another.

Ids and logins are how a keyring names people: in rules (``approvers =
["alice"]``), in reports, and when a forge review or a maintainer list is
mapped to a person. Two names that look the same on screen but differ in
bytes let one person pass as another in every report a reviewer reads:
``alice`` and ``аlice`` (Cyrillic ``а``), ``bob`` and ``bob\\u200b`` (a
zero-width space), ``Alice`` and ``alice``. The keyring is refused at load
time, naming both entries, so the curator decides which one is meant.

The comparison folds what a reader cannot see: Unicode compatibility forms
(NFKC), case, invisible format characters, combining marks and the Cyrillic
and Greek letters drawn like Latin ones (the subset of Unicode's
confusables.txt that matters for names typed in Latin script). It is a
refusal rule, not a normalisation: names are kept exactly as written.
"""

from __future__ import annotations

import unicodedata

# Cyrillic and Greek letters that render like a Latin letter (lower case;
# NFKC and casefold run first). From Unicode's confusables.txt, restricted
# to single letters.
_LOOKALIKES = {
    # Cyrillic
    "а": "a", "в": "b", "с": "c", "ԁ": "d", "е": "e", "ё": "e", "һ": "h", "і": "i", "ї": "i", "ј": "j",
    "к": "k", "ӏ": "l", "м": "m", "н": "h", "о": "o", "р": "p", "ԛ": "q", "г": "r", "ѕ": "s", "т": "t",
    "ц": "u", "у": "y", "х": "x", "ԝ": "w", "ь": "b", "п": "n", "ү": "y", "ɡ": "g",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x", "γ": "y", "ω": "w", "ϲ": "c", "ϳ": "j", "ѵ": "v",
    # Latin letters that stand in for others
    "ı": "i", "ȷ": "j", "ℓ": "l", "ſ": "s",
}
_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK")


def invisible_characters(text: str) -> list[str]:
    """Code points in ``text`` that are not drawn (format and control characters, e.g. U+200B)."""
    return [f"U+{ord(c):04X}" for c in text if unicodedata.category(c) in ("Cf", "Cc", "Zl", "Zp")]


def mixed_scripts(text: str) -> tuple[str, ...]:
    """The scripts among Latin, Cyrillic and Greek that the letters of ``text`` use, when more than one."""
    seen: list[str] = []
    for c in text:
        if not c.isalpha():
            continue
        name = unicodedata.name(c, "")
        for script in _SCRIPTS:
            if name.startswith(script) and script not in seen:
                seen.append(script)
    return tuple(s for s in _SCRIPTS if s in seen) if len(seen) > 1 else ()


def skeleton(text: str) -> str:
    """What a reader sees of ``text``: equal skeletons mean the names can be mistaken for each other."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    decomposed = unicodedata.normalize("NFKD", folded)
    out = []
    for c in decomposed:
        category = unicodedata.category(c)
        if category in ("Cf", "Cc", "Mn", "Me", "Zl", "Zp"):
            continue
        out.append(_LOOKALIKES.get(c, c))
    return "".join(out)


def problems(names: list[tuple[str, str]], what: str) -> tuple[str, str] | None:
    """The first problem among ``(where, name)`` pairs as (where, sentence naming the other entry); None if none.

    ``what`` says which namespace the names share ("id", "GitHub login"):
    names are compared within one namespace only.
    """
    for where, name in names:
        hidden = invisible_characters(name)
        if hidden:
            return where, f"{what} {name!r} contains invisible character(s) {', '.join(hidden)}"
        if name != name.strip() or "  " in name or any(c.isspace() and c != " " for c in name):
            # "alice" and "alice " (or a no-break space, or two spaces) print alike in every report;
            # single inner spaces stay allowed (a Guix import names persons "Noé Lopez")
            return where, f"{what} {name!r} has leading, trailing, repeated or unusual white space; write it without"
        scripts = mixed_scripts(name)
        if scripts:
            return where, f"{what} {name!r} mixes {' and '.join(s.title() for s in scripts)} letters"
    seen: dict[str, tuple[str, str]] = {}
    for where, name in names:
        key = skeleton(name)
        previous = seen.get(key)
        if previous is None:
            seen[key] = (where, name)
            continue
        other_where, other = previous
        if other == name:
            return where, f"duplicate {what} {name!r} (also {other_where})"
        if other.casefold() == name.casefold():
            why = "differ only in case"
        else:
            why = "look alike"
        return where, f"{what} {name!r} and {other_where} {what} {other!r} {why}; rename one"
    return None
