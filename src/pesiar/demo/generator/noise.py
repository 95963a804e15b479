"""The noise real extracts carry: NIK typos, spelling variants, titles, shifted dates."""

import numpy as np


def name_variant(name: str, rng: np.random.Generator, female: bool, age: float) -> str:
    """One spelling of `name` as another office might have typed it."""
    words = name.split()
    choice = rng.random()
    if words[0] == "MUHAMMAD" and choice < 0.8:
        words[0] = ("MUHAMAD", "MOH.", "M.", "MOHAMMAD", "MUHAMMAD")[rng.integers(0, 5)]
    elif words[0] == "SITI" and choice < 0.8:
        words[0] = "SITY"
    elif words[0] == "NUR" and len(words) > 1 and choice < 0.6:
        words[0:2] = [words[0] + words[1]]  # NUR HASANAH -> NURHASANAH
    elif choice < 0.3 and age >= 40:
        words.insert(0, "HJ." if female else "H.")  # title after the pilgrimage
    elif choice < 0.45 and len(words) > 1:
        words[0:2] = [words[0] + words[1]]  # a missing space
    elif choice < 0.55:
        words[-1] = words[-1] + ","  # a stray comma before a degree that was cut off
        words.append(("S.PD", "S.E.", "S.KOM", "A.MD")[rng.integers(0, 4)])
    else:
        words = [typo(words[i], rng) if i == len(words) - 1 else w for i, w in enumerate(words)]
    return " ".join(words)


def typo(word: str, rng: np.random.Generator) -> str:
    """One keying slip: a doubled, dropped or swapped letter."""
    if len(word) < 3:
        return word + word[-1]
    i = int(rng.integers(1, len(word) - 1))
    kind = rng.integers(0, 3)
    if kind == 0:
        return word[:i] + word[i] + word[i:]
    if kind == 1:
        return word[:i] + word[i + 1 :]
    return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]


def nik_typo(nik: str, rng: np.random.Generator) -> str:
    """A mistyped NIK: one digit wrong, two adjacent digits swapped, or two digits wrong."""
    digits = list(nik)
    kind = rng.random()
    if kind < 0.25:
        i = int(rng.integers(6, 15))
        if digits[i] == digits[i + 1]:
            digits[i] = str((int(digits[i]) + 1) % 10)
        else:
            digits[i], digits[i + 1] = digits[i + 1], digits[i]
    else:
        count = 2 if kind > 0.85 else 1
        for i in rng.choice(np.arange(4, 16), size=count, replace=False):
            digits[i] = str((int(digits[i]) + int(rng.integers(1, 10))) % 10)
    return "".join(digits)
